import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateApiTypes } from "./api-types.ts";
import { banner } from "./banner.ts";
import { compileSpec } from "./compile-spec.ts";
import { generateDbTypes } from "./db-types.ts";
import { collectRoutes, generateHandlerInterfaces, generateRouteTable } from "./route-table.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Writes every file of `generated/` into `outDir`; returns the file names written. */
export async function generate(outDir: string): Promise<string[]> {
  const started = performance.now();
  const step = (name: string) => console.log(`gen: ${name} (${Math.round(performance.now() - started)} ms)`);
  const spec = compileSpec(root);
  step("spec compiled");
  const routes = collectRoutes(spec.document);
  const files: Record<string, string> = {
    "openapi.yaml": spec.yaml,
    "api-types.ts": await generateApiTypes(spec.document),
    "handler-types.ts": banner("//") + readFileSync(join(root, "scripts/gen/templates/handler-types.ts"), "utf8"),
    "routes.ts": generateRouteTable(routes),
    "handlers.ts": generateHandlerInterfaces(routes),
  };
  step("types and route table generated");
  files["db.ts"] = await generateDbTypes(join(root, "sql"));
  step("database types generated");
  mkdirSync(outDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(outDir, name), content);
  return Object.keys(files);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : join(root, "generated");
  const names = await generate(outDir);
  console.log(`gen: wrote ${names.length} files to ${outDir}`);
}
