import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import nunjucks from "nunjucks";
import { defineNode } from "../define-node.ts";
import { runInSandbox, sandboxLimitsSchema, type SandboxLimits } from "./quickjs-sandbox.ts";
import { namedValues, toRecord } from "./schema-parts.ts";

interface TemplateConfig extends SandboxLimits {
  /** Jinja-like nunjucks source, e.g. `{% for item in items %}{{ item | upper }}{% endfor %}`. */
  template: string;
  variables: { name: string; value: unknown }[];
}

const TEMPLATE_NAME = "template";
const ENTRY = `(function () {
  const env = new nunjucks.Environment(new nunjucks.PrecompiledLoader(globalThis.nunjucksPrecompiled), { autoescape: false });
  globalThis.__output = JSON.stringify({ value: env.render(${JSON.stringify(TEMPLATE_NAME)}, JSON.parse(globalThis.__input)) });
})();`;

let prelude: string | null = null;

/**
 * Renders a nunjucks template with autoescape off. The template is compiled here but rendered inside
 * the QuickJS sandbox with nunjucks' runtime: rendered on the host, `{{ "".constructor.constructor(…) }}`
 * would reach the host's `Function`, and a loop over `range(1e9)` would hold the event loop.
 * There is no loader, so `include`/`import`/`extends` find nothing.
 */
export const templateNode = defineNode<TemplateConfig>({
  type: "template",
  version: 1,
  rawConfigKeys: ["template"],
  configSchema: {
    type: "object",
    required: ["template"],
    additionalProperties: false,
    properties: {
      template: { type: "string", maxLength: 100_000 },
      variables: { ...namedValues, default: [] },
      ...sandboxLimitsSchema,
    },
  },
  outputs: { output: "string" },
  check(config) {
    try {
      compileTemplate(config.template);
      return undefined;
    } catch (error) {
      return { field: "/template", message: error instanceof Error ? error.message : String(error) };
    }
  },
  async run(ctx) {
    const { template, variables, timeLimitMs, memoryLimitMb } = ctx.config;
    const inputs = toRecord(variables);
    const program = { prelude: nunjucksRuntime(), source: compileTemplate(template), entry: ENTRY, input: inputs };
    const output = await runInSandbox(program, { timeLimitMs, memoryLimitMb }, ctx.signal);
    return { outputs: { output: String(output ?? "") }, inputs };
  },
});

/** Compiling only parses and emits JavaScript; nothing of the template runs on the host. */
function compileTemplate(template: string): string {
  return nunjucks.precompileString(template, { name: TEMPLATE_NAME });
}

/** nunjucks' render-only runtime, whose precompiled templates register on `window`. */
function nunjucksRuntime(): string {
  if (prelude === null) {
    const path = createRequire(import.meta.url).resolve("nunjucks/browser/nunjucks-slim.min.js");
    prelude = `var window = globalThis;\n${readFileSync(path, "utf8")}`;
  }
  return prelude;
}
