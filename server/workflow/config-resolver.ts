import type { VariableReader } from "./types.ts";
import { mayHoldReference, parseTemplate, stringifyValue } from "./variable-reference.ts";

/** Produces a node's config with its references filled in from the pool. */
export type ConfigResolver = (variables: VariableReader) => Record<string, unknown>;

type ValueResolver = (variables: VariableReader) => unknown;

/**
 * Prepares, once at compile time, how a config is resolved on every run. A string that is exactly
 * one reference becomes the typed value (a number stays a number, an array an array); a string
 * mixing text and references becomes text. A config without references resolves to itself, so a
 * node with a static config costs nothing here.
 */
export function prepareConfigResolver(config: Record<string, unknown>, rawKeys: ReadonlySet<string>): ConfigResolver {
  const fields: [string, ValueResolver][] = [];
  let dynamic = false;
  for (const [key, value] of Object.entries(config)) {
    const resolver = rawKeys.has(key) ? null : prepareValue(value);
    if (resolver) dynamic = true;
    fields.push([key, resolver ?? (() => value)]);
  }
  if (!dynamic) return () => config;
  return (variables) => {
    const resolved: Record<string, unknown> = {};
    for (const [key, resolve] of fields) resolved[key] = resolve(variables);
    return resolved;
  };
}

/** A resolver for a value holding references, or null when the value is constant. */
function prepareValue(value: unknown): ValueResolver | null {
  if (typeof value === "string") return mayHoldReference(value) ? prepareString(value) : null;
  if (Array.isArray(value)) {
    const items = value.map(prepareValue);
    if (items.every((item) => item === null)) return null;
    return (variables) => items.map((resolve, i) => (resolve ? resolve(variables) : value[i]));
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([key, item]) => [key, item, prepareValue(item)] as const);
    if (entries.every(([, , resolve]) => resolve === null)) return null;
    return (variables) => {
      const resolved: Record<string, unknown> = {};
      for (const [key, item, resolve] of entries) resolved[key] = resolve ? resolve(variables) : item;
      return resolved;
    };
  }
  return null;
}

function prepareString(value: string): ValueResolver | null {
  const segments = parseTemplate(value);
  if (segments.every((segment) => "text" in segment)) return null;
  const [only] = segments;
  if (segments.length === 1 && only && "selector" in only) {
    const selector = only.selector;
    return (variables) => variables.get(selector);
  }
  return (variables) => {
    let text = "";
    for (const segment of segments) text += "text" in segment ? segment.text : stringifyValue(variables.get(segment.selector));
    return text;
  };
}
