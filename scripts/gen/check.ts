import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./index.ts";

/** Regenerates into a scratch folder and fails when any file differs from the committed generated/. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const scratch = mkdtempSync(join(tmpdir(), "gen-check-"));
try {
  const fresh = new Set(await generate(scratch));
  const committed = new Set(readdirSync(join(root, "generated")));
  const stale: string[] = [];
  for (const name of new Set([...fresh, ...committed])) {
    const a = fresh.has(name) ? readFileSync(join(scratch, name), "utf8") : null;
    const b = committed.has(name) ? readFileSync(join(root, "generated", name), "utf8") : null;
    if (a !== b) stale.push(a === null ? `${name} (no longer generated)` : b === null ? `${name} (missing)` : name);
  }
  if (stale.length > 0) {
    console.error(`gen:check: generated/ is stale: ${stale.join(", ")}. Run \`pnpm gen\` and commit the result.`);
    process.exit(1);
  }
  console.log("gen:check: generated/ matches spec/ and sql/");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
