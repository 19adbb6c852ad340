import { stringifyValue } from "../variable-reference.ts";

/** The comparisons an if-else condition can make (Dify's spellings, plus ASCII aliases). */
export const CONDITION_OPERATORS = [
  "contains",
  "not contains",
  "start with",
  "end with",
  "is",
  "is not",
  "empty",
  "not empty",
  "null",
  "not null",
  "=",
  "≠",
  "!=",
  ">",
  "<",
  "≥",
  ">=",
  "≤",
  "<=",
  "length =",
  "length ≠",
  "length >",
  "length <",
  "length ≥",
  "length ≤",
] as const;

export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** How the variable's value is compared; inferred from the value when not declared. */
export type ConditionValueType = "string" | "number" | "boolean" | "array";

/** Which operators make sense for each declared type; a compile-time check. */
export const OPERATORS_BY_TYPE: Record<ConditionValueType, readonly ConditionOperator[]> = {
  string: ["contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty", "null", "not null"],
  number: ["=", "≠", "!=", ">", "<", "≥", ">=", "≤", "<=", "empty", "not empty", "null", "not null"],
  boolean: ["is", "is not", "null", "not null"],
  array: [
    "contains",
    "not contains",
    "empty",
    "not empty",
    "null",
    "not null",
    "length =",
    "length ≠",
    "length >",
    "length <",
    "length ≥",
    "length ≤",
  ],
};

/** Evaluates one condition; a comparison that does not apply to the value is false, not an error. */
export function evaluateCondition(actual: unknown, operator: ConditionOperator, expected: unknown, declared?: ConditionValueType): boolean {
  const type = declared ?? inferType(actual);
  switch (operator) {
    case "null":
      return actual === null || actual === undefined;
    case "not null":
      return actual !== null && actual !== undefined;
    case "empty":
      return isEmpty(actual);
    case "not empty":
      return !isEmpty(actual);
    case "contains":
      return contains(actual, expected);
    case "not contains":
      return actual !== null && actual !== undefined && !contains(actual, expected);
    case "start with":
      return typeof actual === "string" && actual.startsWith(stringifyValue(expected));
    case "end with":
      return typeof actual === "string" && actual.endsWith(stringifyValue(expected));
    case "is":
      return isEqual(actual, expected, type);
    case "is not":
      return actual !== null && actual !== undefined && !isEqual(actual, expected, type);
    case "=":
    case "≠":
    case "!=":
    case ">":
    case "<":
    case "≥":
    case ">=":
    case "≤":
    case "<=":
      return compareNumbers(toNumber(actual), operator, toNumber(expected));
    default:
      return Array.isArray(actual) && compareNumbers(actual.length, operator.slice("length ".length), toNumber(expected));
  }
}

function inferType(value: unknown): ConditionValueType {
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  return "string";
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function contains(actual: unknown, expected: unknown): boolean {
  if (typeof actual === "string") return actual.includes(stringifyValue(expected));
  if (Array.isArray(actual)) {
    const wanted = stringifyValue(expected);
    return actual.some((item) => item === expected || stringifyValue(item) === wanted);
  }
  return false;
}

function isEqual(actual: unknown, expected: unknown, type: ConditionValueType): boolean {
  if (type === "boolean") return toBoolean(actual) !== null && toBoolean(actual) === toBoolean(expected);
  if (type === "number") return compareNumbers(toNumber(actual), "=", toNumber(expected));
  return actual !== null && actual !== undefined && stringifyValue(actual) === stringifyValue(expected);
}

function toBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return null;
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return Number.NaN;
}

function compareNumbers(left: number, operator: string, right: number): boolean {
  if (Number.isNaN(left) || Number.isNaN(right)) return false;
  switch (operator) {
    case "=":
      return left === right;
    case "≠":
    case "!=":
      return left !== right;
    case ">":
      return left > right;
    case "<":
      return left < right;
    case "≥":
    case ">=":
      return left >= right;
    case "≤":
    case "<=":
      return left <= right;
    default:
      return false;
  }
}
