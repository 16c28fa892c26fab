/** The configuration schema: every key is described and has a default, unknown keys are errors. */
import { z } from "zod";

const slug = /^[a-z0-9][a-z0-9-]{0,62}$/;

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

const isolationSchema = z.enum(["row", "schema", "database"]);
export type PgIsolation = z.infer<typeof isolationSchema>;

export const planSchema = z
  .strictObject({
    rate_limit_per_minute: positiveInt.optional().describe("Units of work (tool calls, resource reads; see limits.method_weights) admitted in any sliding window of limits.window_ms."),
    discovery_per_minute: positiveInt
      .optional()
      .describe("Discovery and list calls (tools/list, resources/list, server/discover, ping, initialize, notifications, any method of weight 0) admitted in any sliding window of limits.window_ms: a budget of their own, so re-listing never spends tool calls."),
    max_documents: positiveInt.optional().describe("Storage quota: the most documents the tenant may keep."),
    max_storage_bytes: positiveInt.optional().describe("Storage quota: total bytes of titles, contents and tags."),
    monthly_tool_calls: positiveInt.optional().describe("Tool calls allowed per calendar month (UTC)."),
    max_concurrency: positiveInt.optional().describe("Requests of one tenant in flight at once."),
    max_streams: positiveInt.optional().describe("Open subscriptions/listen (SSE) streams of one tenant at once; the server-wide cap (1,024) stays a last line."),
    cpu_ms_per_minute: positiveInt
      .optional()
      .describe("CPU milliseconds the tenant's work (its store calls on the worker threads) may use in any trailing window of limits.window_ms; beyond, its requests get 429 until usage falls under it."),
    request_timeout_ms: positiveInt.optional().describe("A request of this plan still running after this long is aborted (at most server.request_timeout_ms)."),
    isolation: isolationSchema
      .optional()
      .describe("On PostgreSQL (storage.url set): where new tenants of this plan keep their documents, instead of storage.isolation (e.g. free tenants share rows, enterprise tenants get their own database)."),
  })
  .describe("One plan's limits; a key left out keeps the value of the built-in plan of that name (or of free).");

export type Plan = {
  rate_limit_per_minute: number;
  discovery_per_minute: number;
  max_documents: number;
  max_storage_bytes: number;
  monthly_tool_calls: number;
  max_concurrency: number;
  max_streams: number;
  cpu_ms_per_minute: number;
  request_timeout_ms: number;
  isolation?: PgIsolation;
};

/** The plan keys a tenant may override (`mcp-mt tenant set-limit`). */
export const planKeys = [
  "rate_limit_per_minute",
  "discovery_per_minute",
  "max_documents",
  "max_storage_bytes",
  "monthly_tool_calls",
  "max_concurrency",
  "max_streams",
  "cpu_ms_per_minute",
  "request_timeout_ms",
] as const;

export const defaultPlans: Record<string, Plan> = {
  free: {
    rate_limit_per_minute: 100,
    discovery_per_minute: 600,
    max_documents: 1_000,
    max_storage_bytes: 50 * 1024 * 1024,
    monthly_tool_calls: 10_000,
    max_concurrency: 4,
    max_streams: 4,
    cpu_ms_per_minute: 6_000,
    request_timeout_ms: 10_000,
  },
  pro: {
    rate_limit_per_minute: 1_000,
    discovery_per_minute: 6_000,
    max_documents: 100_000,
    max_storage_bytes: 5 * 1024 * 1024 * 1024,
    monthly_tool_calls: 1_000_000,
    max_concurrency: 16,
    max_streams: 32,
    cpu_ms_per_minute: 30_000,
    request_timeout_ms: 30_000,
  },
  enterprise: {
    rate_limit_per_minute: 10_000,
    discovery_per_minute: 60_000,
    max_documents: 10_000_000,
    max_storage_bytes: 100 * 1024 * 1024 * 1024,
    monthly_tool_calls: 100_000_000,
    max_concurrency: 64,
    max_streams: 128,
    cpu_ms_per_minute: 120_000,
    request_timeout_ms: 30_000,
  },
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
    trust_proxy: z.boolean().default(false).describe("Take the client address from X-Forwarded-For (only behind a reverse proxy you run)."),
    max_body_bytes: positiveInt.default(1024 * 1024).describe("Largest request body accepted; larger bodies get 413 (the connection is kept up to 4 times this size, closed beyond)."),
    body_timeout_ms: positiveInt.default(10_000).describe("A request body still arriving after this long gets 408 and its connection is closed."),
    max_body_reads_per_address: positiveInt.default(32).describe("Request bodies arriving at once from one client address; beyond, 429 and the connection is closed."),
    idle_timeout_ms: z
      .number()
      .int()
      .min(1_000)
      .max(255_000)
      .default(30_000)
      .describe("A connection with no request in progress is closed after this long (whole seconds, 1 s to 255 s). Event streams stay open: they send a comment line before it runs out."),
    max_connections_per_address: positiveInt
      .default(256)
      .describe("Open connections per client (socket) address; a request on one more gets 429 and its connection is closed. Off with trust_proxy (every connection comes from the proxy): limit clients in the proxy."),
    request_timeout_ms: positiveInt.default(30_000).describe("A request still running after this long is aborted with a clear error."),
    shutdown_timeout_ms: positiveInt.default(10_000).describe("On SIGTERM/SIGINT, the deadline of the whole stop: in-flight requests finish, then usage is flushed and tenant files are checkpointed; anything unfinished is logged and the exit status is 1."),
    tls: z
      .strictObject({
        cert: z.string().default("").describe("PEM certificate (chain) file: serve HTTPS directly. Reloaded on SIGHUP."),
        key: z.string().default("").describe("PEM private key file for cert."),
      })
      .prefault({})
      .describe("TLS served by mcp-mt itself (or put Caddy in front: see the README)."),
  })
  .describe("The HTTP server.");

const dataSchema = z
  .strictObject({
    dir: z.string().min(1).default("./data").describe("Directory holding control.db, tenants/<id>.db and the generated pepper."),
  })
  .describe("Where data lives.");

const storageSchema = z
  .strictObject({
    url: z
      .string()
      .default("")
      .refine((url) => url === "" || /^postgres(ql)?:\/\//.test(url), "storage.url must be empty (libSQL files) or a postgres:// URL")
      .describe(
        "Empty: the control plane and every tenant's documents are libSQL files under data.dir. postgres://user@host:5432/db: both live in PostgreSQL, so several instances can serve behind a load balancer. A password never goes in the file: set MCP_MT_STORAGE_URL (or PGPASSWORD) instead.",
      ),
    isolation: isolationSchema
      .default("row")
      .describe("On PostgreSQL, where a new tenant's documents live unless its plan or `tenant add --isolation` says otherwise: row (shared tables, a tenant column and row-level security), schema (a schema per tenant) or database (a database per tenant)."),
    pool_max: positiveInt.default(10).describe("Connections of this instance's shared PostgreSQL pool (control plane, row and schema tenants)."),
    max_lifetime_s: positiveInt.default(600).describe("A PostgreSQL connection is replaced after this many seconds (each schema a connection touches adds catalog cache that PostgreSQL never frees)."),
    database_pool_max: positiveInt.default(2).describe("Connections per tenant database (database isolation)."),
    database_pools_max: positiveInt
      .default(16)
      .describe("Most tenant-database pools this instance keeps open (least recently used closed first). One instance opens at most pool_max + database_pools_max × database_pool_max connections: keep that times the instance count under PostgreSQL's max_connections."),
  })
  .describe("Where the control plane and tenants' documents live.");

const tenancySchema = z
  .strictObject({
    max_open_tenants: positiveInt.default(256).describe("Most tenant databases kept open at once; the least recently used is closed beyond it."),
    synchronous: z.enum(["OFF", "NORMAL", "FULL", "EXTRA"]).default("NORMAL").describe("SQLite synchronous setting of every database. NORMAL: an acknowledged write survives a process crash, but a power loss may lose the latest ones; FULL: each commit is synced to disk before the answer, so it survives a power loss too (group_commit keeps the cost down); OFF: a power loss may damage files."),
    busy_timeout_ms: z.number().int().min(0).default(5_000).describe("How long a write waits for a lock before failing."),
    group_commit: z.boolean().default(true).describe("Writes of one tenant that arrive together share one transaction and one disk sync, each keeping its own outcome (what makes synchronous = FULL affordable). false: every write commits alone."),
    workers: z.number().int().min(0).max(256).default(0).describe("Store worker threads that own the tenant databases (every query runs on one, never on the thread serving HTTP). 0: one per CPU."),
    stall_ms: positiveInt.default(50).describe("A store worker busy this long with one tenant's work (one statement, or its calls back to back) while other tenants' calls wait hands those tenants to a fresh worker, so they never wait on it."),
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

const jwtSchema = z
  .strictObject({
    secret: z.string().default("").describe("Shared HS256 secret. Only from MCP_MT_AUTH_JWT_SECRET (never in this file); or use secret_file."),
    secret_file: z.string().default("").describe("File holding the shared HS256 secret (at least 32 bytes)."),
    jwks_url: z.string().default("").describe("JWKS URL of your identity provider (RS256, ES256, EdDSA keys); fetched on demand, cached, time-boxed."),
    jwks_file: z.string().default("").describe("A static JWKS file instead of jwks_url."),
    issuer: z.string().default("").describe("Required `iss` of every token. Required when JWT is enabled."),
    audience: z.string().default("").describe("Required `aud`. Empty: this server's MCP resource URL (<public_url>/mcp)."),
    algorithms: z.array(z.enum(["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"])).default([]).describe("Accepted algorithms (never none). Empty: HS256 with a secret, RS256/ES256/EdDSA with JWKS."),
    clock_tolerance: z.number().int().min(0).max(300).default(30).describe("Seconds of clock skew tolerated on exp/nbf/iat."),
    tenant_claim: z.string().min(1).default("tenant_id").describe("Claim naming the tenant."),
    scope_claim: z.string().min(1).default("scope").describe("Claim with the scopes: a space-separated string (scope) or an array (scp, scopes)."),
    authorization_servers: z.array(z.string()).default([]).describe("Authorization servers listed in the protected-resource metadata. Empty: the issuer."),
  })
  .describe("JWT / OAuth bearer tokens (enabled when a secret, secret_file, jwks_url or jwks_file is set).");

const oauthSchema = z
  .strictObject({
    enabled: z
      .enum(["auto", "on", "off"])
      .default("auto")
      .describe("The built-in OAuth 2.1 authorization server (sign-in page, DCR, tokens). auto: on when server.public_url is set or the server listens on loopback; on; off."),
    access_token_ttl: z.string().regex(/^\d+(s|m|h)$/, "a duration like 10m or 1h").default("10m").describe("Lifetime of an access token (short: revocation also applies within 1 s through the grant check)."),
    refresh_token_ttl: z.string().regex(/^\d+(m|h|d)$/, "a duration like 30d").default("30d").describe("A grant unused for this long expires; each refresh rotates the refresh token."),
    code_ttl_seconds: positiveInt.max(600).default(60).describe("Seconds an authorization code stays valid (it is single-use)."),
    session_ttl: z.string().regex(/^\d+(m|h|d)$/, "a duration like 12h").default("12h").describe("How long a browser stays signed in on the sign-in pages."),
    key_grace: z.string().regex(/^\d+(m|h|d)$/, "a duration like 1h").default("1h").describe("After `mcp-mt oauth rotate-keys`, how long tokens signed by the previous key stay valid (at least access_token_ttl)."),
    dcr: z.boolean().default(true).describe("Accept Dynamic Client Registration (RFC 7591) at /oauth/register."),
    dcr_per_hour: positiveInt.default(20).describe("Registrations accepted per client address per hour."),
    dcr_max_unused: positiveInt.default(1_000).describe("Most registered clients never used for a sign-in; beyond, registration answers 429 until unused ones expire."),
    unused_client_ttl: z.string().regex(/^\d+(m|h|d)$/, "a duration like 24h").default("24h").describe("A registered client that completed no sign-in within this long is deleted."),
    cimd: z.boolean().default(true).describe("Accept Client ID Metadata Documents: an https URL as client_id, fetched and cached."),
    cimd_allow_private: z.boolean().default(false).describe("Let a client_id URL resolve to a private, loopback or link-local address (only for local development)."),
    cimd_max_bytes: positiveInt.default(5_120).describe("Largest client metadata document fetched, in bytes."),
    cimd_timeout_ms: positiveInt.default(3_000).describe("Longest wait for a client metadata document."),
    cimd_cache_seconds: positiveInt.default(300).describe("How long a fetched client metadata document is reused."),
    password_failures: positiveInt.default(5).describe("Wrong passwords in a row (within a day of the first; on every instance together with limits.redis_url) before one account is locked (others are not affected)."),
    lockout_minutes: positiveInt.default(15).describe("How long a locked account refuses sign-in (even with the right password)."),
    link_ttl: z.string().regex(/^\d+(m|h|d)$/, "a duration like 1h").default("1h").describe("Lifetime of a one-time sign-in link printed by `mcp-mt member link`."),
  })
  .describe("The built-in OAuth 2.1 authorization server: tenant members (or a tenant API key) sign in on a page and OAuth-only MCP clients get tokens.");

const authSchema = z
  .strictObject({
    filter_tools_by_scope: z.boolean().default(true).describe("List only the tools the caller's scopes allow."),
    jwt: jwtSchema.prefault({}),
    oauth: oauthSchema.prefault({}),
    pepper_file: z
      .string()
      .default("")
      .describe("File holding the secret pepper for API-key hashes. Empty: MCP_MT_AUTH_PEPPER, else <data.dir>/pepper (generated on first start)."),
  })
  .describe("Authentication. Secrets never live in this file: use the env variable or a file path.");

const weights = z.record(z.string(), z.number().int().min(0));

const limitsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Enforce rate limits, quotas and concurrency caps and meter usage. false: none of it (e.g. a private single-team install)."),
    window_ms: positiveInt.default(60_000).describe("Length of the sliding window that plans' rate_limit_per_minute, discovery_per_minute and cpu_ms_per_minute apply to (on a monotonic clock: wall-clock steps neither burst nor lock out)."),
    method_weights: weights
      .default({ "tools/call": 1, "resources/read": 1 })
      .describe("Units a JSON-RPC method costs from the plan's rate_limit_per_minute. A method of weight 0 costs one unit of the plan's discovery_per_minute instead: no method is free."),
    default_weight: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Units of a method not in method_weights (0: it is a discovery call, e.g. tools/list, server/discover, ping, and costs one discovery_per_minute unit)."),
    tool_weights: weights.default({}).describe('Units a tools/call of one tool costs instead of method_weights["tools/call"], e.g. { search_documents = 2 }.'),
    error_code: z.number().int().default(-32010).describe("JSON-RPC error code of rate-limit and quota errors (outside the ranges JSON-RPC and MCP reserve for their own errors)."),
    auth_failures_per_minute: positiveInt
      .default(20)
      .describe("Failed authentications admitted per client address and key id per minute; beyond, that key id from that address gets 429 before it is checked. Other keys from the same address are still checked."),
    auth_failures_global_per_minute: positiveInt
      .default(1_000)
      .describe("Failed authentications per minute from all addresses together; beyond, an address and key id that failed once is refused until its failures age out."),
    concurrency_wait_ms: z.number().int().min(0).default(1_000).describe("How long a request over the tenant's max_concurrency waits for a slot before 429 (0: refuse at once). Requests run concurrently on the store workers, so a client's burst of parallel calls queues briefly instead of failing."),
    redis_url: z.string().default("").describe("Share rate limits, monthly quotas (exact across instances) and OAuth sign-in state between instances through Redis (redis://host:6379). Empty: all of it in this process."),
    redis_timeout_ms: positiveInt.default(50).describe("Longest wait for Redis on one decision before failure_mode applies."),
    failure_mode: z.enum(["open", "closed"]).default("open").describe("When Redis is slow or down: open admits the request (limits and quotas counted per instance; /readyz says degraded), closed refuses it with 503 (Redis is required: /readyz answers 503 naming it)."),
  })
  .describe("Rate limits, weights and the shared-limit backend.");

const meteringSchema = z
  .strictObject({
    flush_interval_ms: positiveInt.default(1_000).describe("How often usage counted in memory is written to the control plane (a crash loses at most this much)."),
  })
  .describe("Usage metering.");

const pricingSchema = z
  .strictObject({
    currency: z.string().default("USD").describe("Currency of the prices below."),
    tool_call: z.number().min(0).default(0.001).describe("Price of one tool call."),
    document_created: z.number().min(0).default(0.01).describe("Price of one document created."),
    search: z.number().min(0).default(0.005).describe("Price of one search."),
  })
  .describe("Prices used for estimated costs in usage reports.");

const encryptionSchema = z
  .strictObject({
    master_key_file: z
      .string()
      .default("")
      .describe("File holding the master key (openssl rand -base64 32). With it (or MCP_MT_ENCRYPTION_MASTER_KEY) every new tenant database is encrypted with its own key. Never put the key itself here."),
  })
  .describe("Encryption at rest. Without a master key nothing is encrypted.");

const backupsSchema = z
  .strictObject({
    interval: z.string().regex(/^(0|\d+(s|m|h|d))$/, "a duration like 30m, 6h, 1d, or 0").default("0").describe("Scheduled backups inside serve: every this long (e.g. 6h); 0 turns them off."),
    dir: z.string().default("./backups").describe("Where scheduled backups go (one directory per backup)."),
    keep: positiveInt.default(7).describe("Scheduled backups kept; older ones are deleted."),
  })
  .describe("Scheduled backups. `mcp-mt backup` works whatever this says.");

const adminSchema = z
  .strictObject({
    tcp_port: port.default(0).describe("Also serve the admin API on 127.0.0.1:<port> (0: only the Unix socket <data.dir>/admin.sock). Needs MCP_MT_ADMIN_TOKEN."),
  })
  .describe("The admin API. Its Unix socket (mode 0600) is always on: access to the server's user is the credential.");

const metricsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Serve GET /metrics (Prometheus text format)."),
    tenant_labels: z.boolean().default(true).describe("Label series by tenant (turn off for very many tenants)."),
    listen: z
      .string()
      .regex(/^$|^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "host:port, e.g. 127.0.0.1:9464, or empty")
      .default("127.0.0.1:9464")
      .describe("A separate listener serving only /metrics (host:port; empty: none). On the public port /metrics needs MCP_MT_METRICS_TOKEN."),
  })
  .describe("Prometheus metrics. On the public port /metrics answers only with MCP_MT_METRICS_TOKEN (scrapers send Authorization: Bearer <token>); metrics.listen serves them on their own, loopback by default.");

const logSchema = z
  .strictObject({
    level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("Lowest level written."),
    format: z.enum(["auto", "json", "pretty"]).default("auto").describe("json: one JSON object a line on stderr; pretty: for humans; auto: pretty when stderr is a terminal, else json."),
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
    storage: storageSchema.prefault({}),
    tenancy: tenancySchema.prefault({}),
    documents: documentsSchema.prefault({}),
    auth: authSchema.prefault({}),
    plans: z
      .record(z.string().regex(slug, "plan names are lower-case slugs"), planSchema)
      .default({})
      .describe("Named plans. free, pro and enterprise always exist; a table here overrides or adds a plan.")
      .transform(mergePlans),
    encryption: encryptionSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    metering: meteringSchema.prefault({}),
    pricing: pricingSchema.prefault({}),
    admin: adminSchema.prefault({}),
    backups: backupsSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    log: logSchema.prefault({}),
  })
  .describe("mcp-mt configuration.");

export type Config = z.infer<typeof configSchema>;

/** Keys holding secrets; never printed. */
export const secretKeys = new Set<string>([]);
