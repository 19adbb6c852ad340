// @ts-check
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/**
 * The one-way rules of ../shared/STYLE.md: spec → generated → server; inside the server
 * http → domain → db; the workflow engine imports no domain; a domain never imports another
 * domain's queries.
 */
const layers = {
  files: ["**/*.ts"],
  plugins: { "import-x": importX },
  rules: {
    "import-x/no-restricted-paths": [
      "error",
      {
        zones: [
          { target: "./generated", from: ["./server", "./scripts", "./test"], message: "generated/ depends on nothing of ours." },
          { target: "./server", from: ["./scripts", "./test"], message: "the server never imports scripts or tests." },
          {
            target: "./server/workflow",
            from: "./server",
            except: ["./workflow", "./net"],
            message: "the workflow engine imports no domain: nodes reach the world through their context.",
          },
          {
            target: "./server/net",
            from: "./server",
            except: ["./net"],
            message: "server/net is neutral: it imports nothing of the server.",
          },
          {
            target: ["./server/db", "./server/errors.ts", "./server/messages.ts", "./server/money.ts"],
            from: ["./server/http", "./server/billing", "./server/app.ts", "./server/main.ts"],
            message: "the shared kernel and db layer never import http or a domain.",
          },
          {
            target: "./server/billing",
            from: ["./server/http/bind-routes.ts", "./server/app.ts", "./server/main.ts"],
            message: "a domain does not reach back into the HTTP binding or the app.",
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ["node_modules/", "generated/", ".data/", "scripts/gen/templates/", "spec/lib/*.js"] },
  ...tseslint.configs.recommended,
  layers,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);
