/**
 * The Node flags the server runs with: those package.json's `start` script passes between `tsx`
 * and `server/main.ts`. The benches run their servers with the same flags, so they measure the
 * server as `npm start` runs it.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function serverNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: { start: string } };
  const flags = /\btsx((?: --[\w-]+(?:=\S+)?)*) server\/main\.ts\b/.exec(manifest.scripts.start);
  if (!flags) throw new Error(`package.json's start script does not run "tsx [flags] server/main.ts": ${manifest.scripts.start}`);
  return flags[1]!.trim().split(/\s+/).filter(Boolean);
}

/**
 * For a bench that serves from its own process: when this process lacks the server's flags, runs
 * the script (`import.meta.url`) again with them and exits with its exit code; otherwise returns.
 */
export async function withServerFlags(scriptUrl: string): Promise<void> {
  const missing = serverNodeFlags().filter((flag) => !process.execArgv.includes(flag));
  if (missing.length === 0) return;
  const child = spawn(process.execPath, [...process.execArgv, ...missing, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  const code = await new Promise<number>((resolve) => child.once("exit", (exitCode) => resolve(exitCode ?? 1)));
  process.exit(code);
}
