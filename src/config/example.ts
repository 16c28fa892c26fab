/** Renders the documented example configuration from the schema, so it can never drift from it. */
import { configSchema, defaultPlans, planSchema } from "./schema.ts";
import { shapeOf, tomlLine, unwrap } from "./walk.ts";

const header = `# mcp-mt configuration. Every key is optional: the value shown is the default.
# Any key can be overridden by an environment variable MCP_MT_<SECTION>_<KEY>,
# e.g. MCP_MT_SERVER_PORT=9000. Secrets (the key-hash pepper) come from the
# environment or from a file, never from this file.
`;

/** The text of config.example.toml. */
export function renderExample(): string {
  const defaults = configSchema.parse({}) as Record<string, Record<string, unknown>>;
  const out = [header];
  for (const [section, schema] of Object.entries(shapeOf(configSchema)!)) {
    const { description } = unwrap(schema);
    if (section === "plans") {
      out.push(`# ${description}`);
      const fields = shapeOf(planSchema)!;
      for (const [name, plan] of Object.entries(defaultPlans)) {
        out.push(`[plans.${name}]`);
        for (const [key, field] of Object.entries(fields)) {
          out.push(`# ${unwrap(field).description}`, tomlLine(key, plan[key as keyof typeof plan]));
        }
        out.push("");
      }
      continue;
    }
    out.push(`# ${description}`, `[${section}]`);
    const subsections: [string, typeof schema][] = [];
    for (const [key, field] of Object.entries(shapeOf(schema)!)) {
      if (shapeOf(field)) {
        subsections.push([key, field]);
        continue;
      }
      out.push(`# ${unwrap(field).description}`, tomlLine(key, defaults[section]![key]));
    }
    out.push("");
    for (const [key, sub] of subsections) {
      const values = defaults[section]![key] as Record<string, unknown>;
      out.push(`# ${unwrap(sub).description}`, `[${section}.${key}]`);
      for (const [name, field] of Object.entries(shapeOf(sub)!)) out.push(`# ${unwrap(field).description}`, tomlLine(name, values[name]));
      out.push("");
    }
  }
  return out.join("\n");
}
