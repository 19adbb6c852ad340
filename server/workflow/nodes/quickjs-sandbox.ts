import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC, type QuickJSContext, type QuickJSHandle } from "quickjs-emscripten";
import { NodeError } from "../errors.ts";
import type { JsonSchema } from "../define-node.ts";

/** Per-run limits of the sandbox. */
export interface SandboxLimits {
  timeLimitMs: number;
  memoryLimitMb: number;
}

/** Config fields for the limits, shared by the code and template nodes. */
export const sandboxLimitsSchema: Record<keyof SandboxLimits, JsonSchema> = {
  timeLimitMs: { type: "integer", minimum: 10, maximum: 30_000, default: 2_000 },
  memoryLimitMb: { type: "integer", minimum: 4, maximum: 256, default: 32 },
};

/** Scripts evaluated in order in one fresh QuickJS context. */
export interface SandboxProgram {
  /** Trusted scripts the source builds on (the nunjucks runtime). */
  prelude?: string;
  /** The untrusted script. */
  source: string;
  /** A trusted script that reads `globalThis.__input` (JSON text) and sets `globalThis.__output` to `JSON.stringify({ value })`. */
  entry: string;
  input: unknown;
}

// Small enough that QuickJS reports a stack overflow before the host's own stack runs out under it.
const STACK_BYTES = 256 * 1024;
const WASM_PAGE_BYTES = 65_536;
// The memory the QuickJS build starts with (16 MiB); the limit is granted on top of it.
const BASE_PAGES = 256;

/**
 * Runs a program in a QuickJS instance of its own: no require, fetch, process, timers or console,
 * and an interrupt handler that stops it at the time limit. Synchronous work blocks the event loop
 * until then, which is why the time limit is the sandbox's own and not the node's timeout.
 *
 * The memory limit is enforced by the WebAssembly memory itself: QuickJS's own malloc limit cannot
 * see the size of large blocks in this build, so one shared instance would grow (and never shrink)
 * with whatever a program allocated. Each run gets a fresh instance with a memory of its own, which
 * leaves nothing behind, not even a state a failed run may have corrupted; only the compiled
 * WebAssembly module (code, no state) is shared, so an instance costs no compilation.
 *
 * Returns the entry's `value`; throws `NodeError` (`CODE_ERROR`, `CODE_TIME_LIMIT`, `CODE_MEMORY_LIMIT`, `SANDBOX_FAILED`).
 */
export async function runInSandbox(program: SandboxProgram, limits: SandboxLimits, signal: AbortSignal): Promise<unknown> {
  const limitBytes = limits.memoryLimitMb * 1024 * 1024;
  const memory = new WebAssembly.Memory({ initial: BASE_PAGES, maximum: BASE_PAGES + Math.ceil(limitBytes / WASM_PAGE_BYTES) });
  const module = await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmModule: await compiledQuickJS(), wasmMemory: memory }));
  if (signal.aborted) throw signal.reason;
  const runtime = module.newRuntime();
  try {
    runtime.setMemoryLimit(limitBytes);
    runtime.setMaxStackSize(STACK_BYTES);
    const deadline = Date.now() + limits.timeLimitMs;
    runtime.setInterruptHandler(() => Date.now() > deadline || signal.aborted);
    const vm = runtime.newContext();
    try {
      return evaluate(vm, program, { limits, deadline });
    } finally {
      vm.dispose();
    }
  } catch (error) {
    if (error instanceof NodeError) throw error;
    throw new NodeError("SANDBOX_FAILED", `the sandbox failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    try {
      runtime.dispose();
    } catch {
      // The instance is dropped with this run; a failed teardown has nothing left to harm.
    }
  }
}

let compiled: Promise<WebAssembly.Module> | null = null;

/** The QuickJS build's WebAssembly, compiled once per process (compiling it took most of a run's time). */
function compiledQuickJS(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    // The build is a dependency of quickjs-emscripten, resolved from there.
    const fromQuickJS = createRequire(createRequire(import.meta.url).resolve("quickjs-emscripten"));
    return WebAssembly.compile(await readFile(fromQuickJS.resolve("@jitl/quickjs-wasmfile-release-sync/wasm")));
  })();
  compiled.catch(() => (compiled = null));
  return compiled;
}

/** What telling a limit from the code's own error needs. */
interface Budget {
  limits: SandboxLimits;
  deadline: number;
}

function evaluate(vm: QuickJSContext, program: SandboxProgram, budget: Budget): unknown {
  const input = vm.newString(JSON.stringify(program.input ?? null));
  vm.setProp(vm.global, "__input", input);
  input.dispose();
  if (program.prelude) evaluateScript(vm, program.prelude, "prelude.js", budget);
  evaluateScript(vm, program.source, "main.js", budget);
  evaluateScript(vm, program.entry, "entry.js", budget);
  const jobs = vm.runtime.executePendingJobs();
  if (jobs.error) throw thrownError(vm, jobs.error, budget);
  const output = vm.getProp(vm.global, "__output");
  try {
    if (vm.typeof(output) !== "string") throw new NodeError("CODE_ERROR", "main() returned a promise that never settled");
    const parsed = JSON.parse(vm.getString(output)) as { value?: unknown; error?: string };
    if (parsed.error !== undefined) throw classify(parsed.error, budget);
    return parsed.value;
  } finally {
    output.dispose();
  }
}

function evaluateScript(vm: QuickJSContext, source: string, filename: string, budget: Budget): void {
  const result = vm.evalCode(source, filename);
  if (result.error) throw thrownError(vm, result.error, budget);
  result.value.dispose();
}

function thrownError(vm: QuickJSContext, handle: QuickJSHandle, budget: Budget): NodeError {
  let text: string;
  try {
    const dumped: unknown = vm.dump(handle);
    const error = dumped && typeof dumped === "object" ? (dumped as { name?: unknown; message?: unknown }) : null;
    text = error ? `${String(error.name ?? "Error")}: ${String(error.message ?? "")}` : String(dumped);
  } catch {
    text = "InternalError: out of memory";
  } finally {
    handle.dispose();
  }
  return classify(text, budget);
}

/**
 * Tells a limit from the code's own error. By the clock, not the message, for time; by the message
 * for memory, which nunjucks may have wrapped ("Template render error: … out of memory").
 */
function classify(text: string, { limits, deadline }: Budget): NodeError {
  if (Date.now() > deadline || text === "InternalError: interrupted") {
    return new NodeError("CODE_TIME_LIMIT", `the code ran past its time limit of ${limits.timeLimitMs} ms`);
  }
  if (/\bout of memory\b/.test(text)) {
    return new NodeError("CODE_MEMORY_LIMIT", `the code ran past its memory limit of ${limits.memoryLimitMb} MB`);
  }
  return new NodeError("CODE_ERROR", text);
}
