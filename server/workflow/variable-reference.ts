import type { VariableReader } from "./types.ts";

/** A piece of a `{{#…#}}` template: literal text, or a selector (`["node", "output", "field"]`). */
export type TemplateSegment = { text: string } | { selector: readonly string[]; reference: string };

const REFERENCE = /\{\{#([^#{}\s]+?)#\}\}/g;

/** The root of run-level system variables: `{{#sys.run_id#}}`. */
export const SYSTEM_ROOT = "sys";
/** The alias of the start node's outputs: `{{#start.name#}}`. */
export const START_ALIAS = "start";

/** Splits `node.output.field` into its parts; null unless it names at least a node and an output. */
export function parseSelector(path: string): string[] | null {
  const parts = path.split(".");
  if (parts.length < 2 || parts.some((part) => part === "")) return null;
  return parts;
}

/** Splits a string into literal text and `{{#node.output#}}` references, in order. */
export function parseTemplate(template: string): TemplateSegment[] {
  const segments: TemplateSegment[] = [];
  let last = 0;
  for (const match of template.matchAll(REFERENCE)) {
    const selector = parseSelector(match[1] ?? "");
    if (!selector) continue;
    if (match.index > last) segments.push({ text: template.slice(last, match.index) });
    segments.push({ selector, reference: match[0] });
    last = match.index + match[0].length;
  }
  if (last < template.length) segments.push({ text: template.slice(last) });
  return segments;
}

/** Whether a string may hold a reference; a cheap test before parsing. */
export function mayHoldReference(value: string): boolean {
  return value.includes("{{#");
}

/** Every reference in every string inside a JSON value, with the selector it names. */
export function collectReferences(value: unknown, into: { selector: readonly string[]; reference: string }[] = []) {
  if (typeof value === "string") {
    if (mayHoldReference(value)) {
      for (const segment of parseTemplate(value)) if ("selector" in segment) into.push(segment);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, into);
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) collectReferences(item, into);
  }
  return into;
}

/** How a value reads inside text: strings as they are, null and missing as nothing, the rest as JSON. */
export function stringifyValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

/** A template's value: the typed value when it is exactly one reference, else the rendered text. */
export function resolveTemplateValue(variables: VariableReader, template: string): unknown {
  const segments = parseTemplate(template);
  const [only] = segments;
  if (segments.length === 1 && only && "selector" in only) return variables.get(only.selector);
  return variables.render(template);
}
