/**
 * zod messages phrased for people: "content is required", "limit must be at most 100", instead of zod's
 * "Invalid input: expected string, received undefined". Used for tool arguments, the config and the admin API.
 * Messages a schema gives itself ("title must not be empty") win over these.
 */
import type { z } from "zod";

type RawIssue = z.core.$ZodRawIssue;

const kinds: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  bigint: "a whole number",
  date: "a date",
};

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "text";
  if (typeof value === "number") return Number.isInteger(value) ? `the number ${value}` : "a fraction";
  if (typeof value === "boolean") return String(value);
  return typeof value === "object" ? "an object" : typeof value;
}

const unit = (origin: unknown, n: number | bigint) => (origin === "string" ? ` character${n === 1 ? "" : "s"}` : origin === "array" || origin === "set" ? ` item${n === 1 ? "" : "s"}` : "");

/** The predicate of a sentence about one field ("is required", "must be at most 100"), or undefined: zod's. */
export function phrase(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${kinds[issue.expected] ?? issue.expected}, not ${describeValue(issue.input)}`;
    case "too_small": {
      const n = issue.minimum as number;
      if (issue.origin === "string" && n === 1) return "must not be empty";
      if ((issue.origin === "array" || issue.origin === "set") && n === 1) return "must not be empty";
      return `must be ${issue.inclusive === false ? "greater than" : "at least"} ${n}${unit(issue.origin, n)}`;
    }
    case "too_big": {
      const n = issue.maximum as number;
      return `must be ${issue.inclusive === false ? "less than" : "at most"} ${n}${unit(issue.origin, n)}`;
    }
    case "invalid_value":
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`}`;
    case "invalid_format":
      return issue.format === "regex" ? "has an invalid format" : `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `has unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_union":
      return "does not have an accepted form";
    default:
      return undefined;
  }
}

/** zod's per-parse error map: our phrase, or zod's own message. */
export const customError = (issue: RawIssue) => phrase(issue);

/** The field a path names, as a person writes it: tags[2], limits.redis_url. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, part) => (typeof part === "number" ? `${name}[${part}]` : name ? `${name}.${String(part)}` : String(part)), "");
}

const ours = /^(is |must |has |does )/;

/** One sentence per issue: "content is required"; a schema's own whole-sentence message stays as it is. */
export function sentence(issue: { path: readonly PropertyKey[]; message: string }, root = "the input"): string {
  if (!ours.test(issue.message)) return issue.message;
  return `${fieldName(issue.path) || root} ${issue.message}`;
}

export const describeIssues = (issues: readonly z.core.$ZodIssue[], root?: string) => issues.map((issue) => sentence(issue, root)).join("; ");

/**
 * A zod object schema as a Standard Schema whose failures are people's sentences with no path prefix, for an
 * SDK that prints `path: message` (it would print "content: Invalid input: …"). JSON Schema is zod's own.
 */
export function humanSchema<T extends z.ZodType>(schema: T): { "~standard": T["~standard"] } {
  const standard = schema["~standard"];
  return {
    "~standard": {
      ...standard,
      vendor: "mcp-mt",
      validate(value: unknown) {
        const result = schema.safeParse(value, { error: customError });
        if (result.success) return { value: result.data };
        return { issues: [{ message: describeIssues(result.error.issues, "the arguments") }] };
      },
    },
  } as never;
}
