/** Walks the config schema and values: env variable names, the documented example, redaction. */
import { stringify } from "smol-toml";
import type { z } from "zod";

type AnySchema = z.ZodType & { description?: string };

/** Every leaf (non-table value) of a config object with its path. */
export function leafPaths(value: unknown, path: string[] = []): { path: string[]; sample: unknown }[] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...path, key]));
  }
  return [{ path, sample: value }];
}

/** Strips default/prefault/optional/pipe wrappers, keeping the first description met. */
export function unwrap(schema: AnySchema): { inner: AnySchema; description?: string } {
  let node = schema;
  let description = schema.description;
  for (;;) {
    const def = (node as unknown as { _zod: { def: { type: string; innerType?: AnySchema; in?: AnySchema } } })._zod.def;
    const next = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    if (!next) return { inner: node, description };
    node = next;
    description ??= node.description;
  }
}

/** The object shape of a (wrapped) object schema, or undefined. */
export function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const { inner } = unwrap(schema);
  return (inner as unknown as { shape?: Record<string, AnySchema> }).shape;
}

/** A TOML line `key = value`. */
export function tomlLine(key: string, value: unknown): string {
  if (value === undefined) return `# ${key} =`;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    // Records (e.g. weights) render as inline tables so the example stays one key per line.
    const pairs = Object.entries(value).map(([k, v]) => tomlLine(k, v));
    return `${stringify({ [key]: 0 }).trim().replace(/ = 0$/, "")} = { ${pairs.join(", ")} }`;
  }
  return stringify({ [key]: value }).trim();
}
