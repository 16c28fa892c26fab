/** The configuration schema: every key is described and has a default, unknown keys are errors. */
import { z } from "zod";

const slug = /^[a-z0-9][a-z0-9-]{0,62}$/;

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

export const planSchema = z
  .strictObject({
    rate_limit_per_minute: positiveInt.optional().describe("Tool calls admitted in any sliding 60-second window."),
    max_documents: positiveInt.optional().describe("Storage quota: the most documents the tenant may keep."),
    max_storage_bytes: positiveInt.optional().describe("Storage quota: total bytes of titles, contents and tags."),
  })
  .describe("One plan's limits; a key left out keeps the value of the built-in plan of that name (or of free).");

export type Plan = { rate_limit_per_minute: number; max_documents: number; max_storage_bytes: number };

export const defaultPlans: Record<string, Plan> = {
  free: { rate_limit_per_minute: 100, max_documents: 1_000, max_storage_bytes: 50 * 1024 * 1024 },
  pro: { rate_limit_per_minute: 1_000, max_documents: 100_000, max_storage_bytes: 5 * 1024 * 1024 * 1024 },
  enterprise: { rate_limit_per_minute: 10_000, max_documents: 10_000_000, max_storage_bytes: 100 * 1024 * 1024 * 1024 },
};

const serverSchema = z
  .strictObject({
    host: z.string().min(1).default("127.0.0.1").describe("Address to listen on. 127.0.0.1 keeps the server on this host; 0.0.0.0 serves every interface."),
    port: port.default(8787).describe("TCP port of the HTTP server (0 picks a free port)."),
    public_url: z
      .string()
      .default("")
      .describe("The URL clients use to reach the server (e.g. https://mcp.example.com). Empty: derived from host and port. Its host is accepted by the Host check."),
    allowed_origins: z
      .array(z.string())
      .default([])
      .describe("Extra Origin values (e.g. https://app.example.com) accepted by the DNS-rebinding check."),
    max_body_bytes: positiveInt.default(1024 * 1024).describe("Largest request body accepted; larger bodies get 413."),
    request_timeout_ms: positiveInt.default(30_000).describe("A request still running after this long is aborted with a clear error."),
    shutdown_timeout_ms: positiveInt.default(10_000).describe("On SIGTERM/SIGINT, how long in-flight requests may take to finish."),
  })
  .describe("The HTTP server.");

const dataSchema = z
  .strictObject({
    dir: z.string().min(1).default("./data").describe("Directory holding control.db, tenants/<id>.db and the generated pepper."),
  })
  .describe("Where data lives.");

const tenancySchema = z
  .strictObject({
    max_open_tenants: positiveInt.default(256).describe("Most tenant databases kept open at once; the least recently used is closed beyond it."),
    synchronous: z.enum(["OFF", "NORMAL", "FULL", "EXTRA"]).default("NORMAL").describe("SQLite synchronous pragma for every database (NORMAL is safe with WAL)."),
    busy_timeout_ms: z.number().int().min(0).default(5_000).describe("How long a write waits for a lock before failing."),
  })
  .describe("Tenant databases.");

const documentsSchema = z
  .strictObject({
    max_title_chars: positiveInt.default(500).describe("Longest document title, in characters."),
    max_content_bytes: positiveInt.default(256 * 1024).describe("Largest document content, in UTF-8 bytes."),
    max_tags: z.number().int().min(0).default(20).describe("Most tags on one document."),
    max_tag_chars: positiveInt.default(64).describe("Longest tag, in characters."),
    max_query_chars: positiveInt.default(500).describe("Longest search query, in characters."),
    max_page_size: positiveInt.default(100).describe("Largest page for list and search results."),
    default_page_size: positiveInt.default(20).describe("Page size when the client does not ask for one."),
  })
  .describe("Document limits applied to every tool input.");

const authSchema = z
  .strictObject({
    pepper_file: z
      .string()
      .default("")
      .describe("File holding the secret pepper for API-key hashes. Empty: MCP_MT_AUTH_PEPPER, else <data.dir>/pepper (generated on first start)."),
  })
  .describe("Authentication. Secrets never live in this file: use the env variable or a file path.");

const logSchema = z
  .strictObject({
    level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("Lowest level written."),
    format: z.enum(["json", "pretty"]).default("json").describe("json: one JSON object a line on stderr; pretty: for humans."),
  })
  .describe("Logging.");

function mergePlans(plans: Record<string, Partial<Plan>>): Record<string, Plan> {
  const merged: Record<string, Plan> = { ...defaultPlans };
  for (const [name, plan] of Object.entries(plans)) {
    const base = defaultPlans[name] ?? defaultPlans.free!;
    const defined = Object.fromEntries(Object.entries(plan).filter(([, v]) => v !== undefined));
    merged[name] = { ...base, ...defined };
  }
  return merged;
}

export const configSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    data: dataSchema.prefault({}),
    tenancy: tenancySchema.prefault({}),
    documents: documentsSchema.prefault({}),
    auth: authSchema.prefault({}),
    plans: z
      .record(z.string().regex(slug, "plan names are lower-case slugs"), planSchema)
      .default({})
      .describe("Named plans. free, pro and enterprise always exist; a table here overrides or adds a plan.")
      .transform(mergePlans),
    log: logSchema.prefault({}),
  })
  .describe("mcp-mt configuration.");

export type Config = z.infer<typeof configSchema>;

/** Keys holding secrets; never printed. */
export const secretKeys = new Set<string>([]);
