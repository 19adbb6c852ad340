import type { VariableReader } from "./types.ts";
import { parseSelector, parseTemplate, stringifyValue, SYSTEM_ROOT } from "./variable-reference.ts";

/**
 * Node outputs addressed by node id and output name, plus `sys` variables. A sub-run (one iteration
 * item) gets a child pool: it writes its own nodes' outputs and reads through to the enclosing run.
 */
export class VariablePool implements VariableReader {
  readonly #values = new Map<string, Readonly<Record<string, unknown>>>();
  readonly #parent: VariablePool | null;

  constructor(parent: VariablePool | null, system: Record<string, unknown> = {}) {
    this.#parent = parent;
    if (!parent) this.#values.set(SYSTEM_ROOT, system);
  }

  /** A pool for one sub-run that reads through to this one. */
  child(): VariablePool {
    return new VariablePool(this);
  }

  setOutputs(nodeId: string, outputs: Readonly<Record<string, unknown>>): void {
    this.#values.set(nodeId, outputs);
  }

  /** The value at `node.output[.field…]`; undefined when the node has not run or the path is missing. */
  get(selector: string | readonly string[]): unknown {
    const parts = typeof selector === "string" ? parseSelector(selector) : selector;
    if (!parts || parts.length === 0) return undefined;
    let value: unknown = this.#outputsOf(parts[0] as string);
    if (value === undefined) return undefined;
    for (let i = 1; i < parts.length; i++) {
      if (value === null || typeof value !== "object") return undefined;
      const key = parts[i] as string;
      if (!Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }

  #outputsOf(nodeId: string): Readonly<Record<string, unknown>> | undefined {
    const own = this.#values.get(nodeId);
    if (own !== undefined || !this.#parent) return own;
    return this.#parent.#outputsOf(nodeId);
  }

  /** Replaces every `{{#…#}}` in `template` with its value as text. */
  render(template: string): string {
    let text = "";
    for (const segment of parseTemplate(template)) text += "text" in segment ? segment.text : stringifyValue(this.get(segment.selector));
    return text;
  }
}
