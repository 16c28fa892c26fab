/** Every CLI command: its words, arguments, flags and examples. Handlers load only when the command runs. */
import type { CommandSpec } from "./spec.ts";

const tenant = () => import("./tenant.ts");
const key = () => import("./key.ts");

export const commands: CommandSpec[] = [
  {
    path: ["serve"],
    summary: "Start the HTTP server",
    options: {
      host: { type: "string", description: "Listen address (overrides server.host)", placeholder: "HOST" },
      port: { type: "string", description: "Listen port (overrides server.port)", placeholder: "PORT" },
    },
    examples: ["mcp-mt serve", "mcp-mt serve --host 0.0.0.0 --port 8787 --config /etc/mcp-mt.toml"],
    handler: async () => (await import("./serve.ts")).serve,
  },
  {
    path: ["stdio"],
    summary: "Serve MCP over stdin/stdout for one tenant (for local clients)",
    options: {
      "key-file": { type: "string", description: "File holding the tenant's API key (else $MCP_MT_API_KEY)", placeholder: "PATH" },
      tenant: { type: "string", description: "Operator on this host: serve this tenant without a key", placeholder: "ID" },
    },
    examples: ["MCP_MT_API_KEY=mcpmt_… mcp-mt stdio", "mcp-mt stdio --key-file ~/.config/mcp-mt/key", "mcp-mt stdio --tenant acme"],
    handler: async () => (await import("./stdio.ts")).stdio,
  },
  {
    path: ["tenant", "add"],
    summary: "Create a tenant, its database and a first API key (shown once)",
    args: [{ name: "id", required: true }],
    options: {
      name: { type: "string", description: "Display name (default: the id)", placeholder: "NAME" },
      plan: { type: "string", description: "Plan: free, pro, enterprise or one from the config (default: free)", placeholder: "PLAN" },
    },
    examples: ["mcp-mt tenant add acme", 'mcp-mt tenant add acme --name "Acme Corp" --plan pro --json'],
    handler: async () => (await tenant()).tenantAdd,
  },
  { path: ["tenant", "list"], summary: "List tenants", examples: ["mcp-mt tenant list", "mcp-mt tenant list --json"], handler: async () => (await tenant()).tenantList },
  {
    path: ["tenant", "show"],
    summary: "Show a tenant: plan, status, database, keys",
    args: [{ name: "id", required: true }],
    examples: ["mcp-mt tenant show acme"],
    handler: async () => (await tenant()).tenantShow,
  },
  {
    path: ["tenant", "suspend"],
    summary: "Suspend a tenant: its requests get 403 until resumed",
    args: [{ name: "id", required: true }],
    examples: ["mcp-mt tenant suspend acme"],
    handler: async () => (await tenant()).tenantSuspend,
  },
  {
    path: ["tenant", "resume"],
    summary: "Resume a suspended tenant",
    args: [{ name: "id", required: true }],
    examples: ["mcp-mt tenant resume acme"],
    handler: async () => (await tenant()).tenantResume,
  },
  {
    path: ["tenant", "set-plan"],
    summary: "Change a tenant's plan",
    args: [
      { name: "id", required: true },
      { name: "plan", required: true },
    ],
    examples: ["mcp-mt tenant set-plan acme pro"],
    handler: async () => (await tenant()).tenantSetPlan,
  },
  {
    path: ["tenant", "remove"],
    summary: "Delete a tenant, its keys and its database file (irreversible)",
    args: [{ name: "id", required: true }],
    options: { yes: { type: "boolean", description: "Confirm the deletion" } },
    examples: ["mcp-mt tenant remove acme --yes"],
    handler: async () => (await tenant()).tenantRemove,
  },
  {
    path: ["tenant", "set-limit"],
    summary: "Override a tenant's plan limits (or --clear them)",
    args: [{ name: "id", required: true }],
    options: {
      "rate-limit": { type: "string", description: "Tool calls per minute (sliding window)", placeholder: "N" },
      "monthly-tool-calls": { type: "string", description: "Tool calls per calendar month", placeholder: "N" },
      "max-documents": { type: "string", description: "Documents the tenant may store", placeholder: "N" },
      "max-storage-bytes": { type: "string", description: "Bytes the tenant may store", placeholder: "N" },
      "max-concurrency": { type: "string", description: "Requests in flight at once", placeholder: "N" },
      "request-timeout-ms": { type: "string", description: "Per-request timeout", placeholder: "MS" },
      clear: { type: "boolean", description: "Remove every override: back to the plan's limits" },
    },
    examples: ["mcp-mt tenant set-limit acme --rate-limit 500", "mcp-mt tenant set-limit acme --max-documents 5000 --monthly-tool-calls 200000", "mcp-mt tenant set-limit acme --clear"],
    handler: async () => (await tenant()).tenantSetLimit,
  },
  {
    path: ["usage"],
    summary: "Usage and estimated cost per tenant for a month (table, JSON or CSV)",
    options: {
      tenant: { type: "string", description: "Only this tenant", placeholder: "ID" },
      month: { type: "string", description: "Month YYYY-MM (UTC; default: the current one)", placeholder: "YYYY-MM" },
      format: { type: "string", description: "table (default), json or csv", placeholder: "FORMAT" },
    },
    examples: ["mcp-mt usage", "mcp-mt usage --month 2026-10 --format csv > usage-2026-10.csv", "mcp-mt usage --tenant acme --format json"],
    handler: async () => (await import("./usage.ts")).usage,
  },
  {
    path: ["key", "create"],
    summary: "Create an API key for a tenant (shown once)",
    args: [{ name: "tenant", required: true }],
    options: {
      label: { type: "string", description: "A label to recognise the key by", placeholder: "TEXT" },
      scopes: { type: "string", description: "Comma-separated scopes (default: documents:read,documents:write,usage:read)", placeholder: "LIST" },
      expires: { type: "string", description: "Expiry: a duration (30d, 12h) or a date (2027-01-31)", placeholder: "WHEN" },
    },
    examples: ["mcp-mt key create acme --label laptop", "mcp-mt key create acme --scopes documents:read --expires 30d --json"],
    handler: async () => (await key()).keyCreate,
  },
  {
    path: ["key", "list"],
    summary: "List a tenant's API keys with state, expiry and last use",
    args: [{ name: "tenant", required: true }],
    examples: ["mcp-mt key list acme"],
    handler: async () => (await key()).keyList,
  },
  {
    path: ["key", "revoke"],
    summary: "Revoke an API key immediately",
    args: [{ name: "key-id", required: true }],
    examples: ["mcp-mt key revoke 3k9x2m7q1a0b"],
    handler: async () => (await key()).keyRevoke,
  },
  {
    path: ["token", "issue"],
    summary: "Issue an HS256 JWT for a tenant (needs auth.jwt with a shared secret); prints the token alone",
    args: [{ name: "tenant", required: true }],
    options: {
      scopes: { type: "string", description: "Comma-separated scopes (default: all)", placeholder: "LIST" },
      ttl: { type: "string", description: "Lifetime, e.g. 15m, 12h, 30d (default 1h)", placeholder: "DURATION" },
      subject: { type: "string", description: "The token's sub (who it is for)", placeholder: "SUB" },
    },
    examples: ["MCP_MT_AUTH_JWT_SECRET=… mcp-mt token issue acme --scopes documents:read --ttl 12h --subject alice@acme.example"],
    handler: async () => (await import("./token.ts")).tokenIssue,
  },
  {
    path: ["migrate"],
    summary: "Bring every tenant database to the current schema, reporting per tenant",
    options: { "dry-run": { type: "boolean", description: "Only report what would be applied" } },
    examples: ["mcp-mt migrate --dry-run", "mcp-mt migrate"],
    handler: async () => (await import("./migrate.ts")).migrate,
  },
  {
    path: ["config", "check"],
    summary: "Validate the configuration and print the effective values (secrets redacted)",
    examples: ["mcp-mt config check", "mcp-mt config check --config ./mcp-mt.toml --json"],
    handler: async () => (await import("./config.ts")).configCheck,
  },
  {
    path: ["config", "example"],
    summary: "Print a documented example configuration",
    examples: ["mcp-mt config example > mcp-mt.toml"],
    handler: async () => (await import("./config.ts")).configExample,
  },
  { path: ["version"], summary: "Print the version", examples: ["mcp-mt version"], handler: async () => (await import("./version.ts")).versionCommand },
];
