/** The admin API of a running server: the operator's actions and live figures, as JSON over a Unix socket. */
import { Hono, type Context } from "hono";
import { isAbsolute, relative, resolve } from "node:path";
import { z } from "zod";
import { allScopes } from "../auth/scopes.ts";
import { AppError } from "../errors.ts";
import type { Limits } from "../limits/setup.ts";
import type { LiveStats } from "../metering/live-stats.ts";
import { monthOf } from "../metering/usage-meter.ts";
import { usageReport } from "../metering/usage-report.ts";
import { effectivePlan } from "../limits/plan.ts";
import type { Services } from "../services.ts";
import { version } from "../version.ts";
import { customError, describeIssues } from "../zod-messages.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { localOperator } from "./operator.ts";
import { oauthAdminRoutes } from "../oauth/admin-routes.ts";
import { admissionRoutes } from "./admission-routes.ts";

export type AdminDeps = {
  services: Pick<Services, "config" | "clock" | "control" | "storage" | "audit" | "tenants" | "keys" | "backups" | "oauth">;
  /** The MCP endpoint as clients reach it (with the port the server really listens on). */
  mcpUrl: string;
  stats: LiveStats;
  limits: Limits;
  readiness: { draining: boolean };
  onChange(): void;
  /**
   * Drops a removed tenant's in-memory state (rate window, pending usage, quota totals) so a tenant created
   * later with the same id starts clean. Wired by the server to the limits' own hook.
   */
  forgetTenant?(id: string): void;
};

/** A path from a request, confined to `root`: relative paths resolve under it, and nothing may leave it. */
export function confinedPath(root: string, path: string | undefined, what: string): string {
  const base = resolve(root);
  const target = resolve(base, path ?? ".");
  const rel = relative(base, target);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new AppError("invalid_input", `${what} must be inside ${base}`);
  return target;
}

/** Who acts through the admin API: the operator the CLI names (x-mcp-mt-actor), for the audit log. */
const actorOf = (c: Context) => c.req.header("x-mcp-mt-actor") || "operator:admin-api";

const addBody = z.object({ id: z.string(), name: z.string().optional(), plan: z.string().optional() });
const bulkBody = z.object({ tenants: z.array(addBody).min(1).max(100_000) });
const keyBody = z.object({ label: z.string().max(200).optional(), scopes: z.array(z.enum(allScopes)).optional(), expires_at: z.number().int().nullable().optional() });

export function adminApp({ services, mcpUrl, stats, limits, readiness, onChange, forgetTenant }: AdminDeps): Hono {
  const app = new Hono();
  const operator = (c: Context) => localOperator(services, actorOf(c), onChange);
  const body = async <T>(c: Context, schema: z.ZodType<T>): Promise<T> => {
    const parsed = schema.safeParse(await c.req.json().catch(() => undefined), { error: customError });
    if (!parsed.success) throw new AppError("invalid_input", `invalid request body: ${describeIssues(parsed.error.issues, "the body")}`);
    return parsed.data;
  };

  app.get("/v1/status", async (c) => {
    const tenants = await services.tenants.list();
    return c.json({
      version,
      pid: process.pid,
      started_at: new Date(stats.startedAt).toISOString(),
      uptime_s: Math.round(stats.uptimeMs() / 1000),
      draining: readiness.draining,
      tenants: tenants.length,
      open_databases: services.storage.openCount,
      damaged_tenants: services.storage.damaged.ids(),
      audit_write_failures: services.audit.failures,
      requests_per_second: stats.requestsPerSecond(),
      // What this server really serves (after --host/--port overrides and a port chosen at listen time).
      mcp_url: mcpUrl,
      jwt_audience: services.config.auth.jwt.audience || mcpUrl,
    });
  });

  /** Every tenant with its live figures and this month's usage against its quota. */
  app.get("/v1/tenants", async (c) => {
    const month = monthOf(services.clock());
    const [tenants, usage] = await Promise.all([services.tenants.list(), usageReport({ control: services.control, pricing: services.config.pricing, month })]);
    const rows = await Promise.all(
      tenants.map(async (t) => {
        const used = usage.find((u) => u.tenant === t.id);
        const pending = limits.meter.pendingFor(t.id, month).tool_calls ?? 0;
        const toolCalls = (used?.tool_calls ?? 0) + pending;
        const plan = effectivePlan(services.config, t);
        return {
          ...t,
          live: { ...stats.figures(t.id), in_flight: limits.admission.inFlight(t.id), database_open: services.storage.isOpen(t.id), database_damaged: services.storage.damaged.get(t.id)?.cause ?? null },
          usage: { month, tool_calls: toolCalls, estimated_cost: used?.estimated_cost ?? 0, quota_used_pct: Math.round((toolCalls / plan.monthly_tool_calls) * 1000) / 10 },
        };
      }),
    );
    return c.json({ tenants: rows });
  });

  app.get("/v1/tenants/:id", async (c) => {
    const id = c.req.param("id");
    const month = monthOf(services.clock());
    const [detail, usage, audit, grants] = await Promise.all([
      services.tenants.show(id),
      usageReport({ control: services.control, pricing: services.config.pricing, month, tenant: id, meter: limits.meter }),
      services.audit.list({ tenant: id, limit: 10 }),
      services.oauth.grants.list(id),
    ]);
    const oauth_grants = grants.filter((g) => g.state === "active");
    return c.json({ ...detail, live: { ...stats.figures(id), in_flight: limits.admission.inFlight(id), database_open: services.storage.isOpen(id), database_damaged: services.storage.damaged.get(id)?.cause ?? null }, usage: usage[0], audit, oauth_grants });
  });

  app.post("/v1/tenants", async (c) => c.json(await operator(c).tenants.add(await body(c, addBody)), 201));
  // Bulk provisioning: many tenants in one call, each with a first key (returned once), all or nothing.
  app.post("/v1/tenants/bulk", async (c) => c.json(await operator(c).tenants.addMany((await body(c, bulkBody)).tenants), 201));
  // Integrity checks run on the store workers that own the files (the server never opens them twice).
  app.post("/v1/tenants/check", async (c) => c.json(await operator(c).tenants.check()));
  app.post("/v1/tenants/:id/check", async (c) => c.json(await operator(c).tenants.check(assertTenantId(c.req.param("id")))));
  app.post("/v1/tenants/:id/suspend", async (c) => c.json(await operator(c).tenants.suspend(c.req.param("id"))));
  app.post("/v1/tenants/:id/resume", async (c) => c.json(await operator(c).tenants.resume(c.req.param("id"))));
  app.post("/v1/tenants/:id/plan", async (c) => c.json(await operator(c).tenants.setPlan(c.req.param("id"), (await body(c, z.object({ plan: z.string() }))).plan)));
  app.post("/v1/tenants/:id/limits", async (c) => {
    const { overrides, clear } = await body(c, z.object({ overrides: z.record(z.string(), z.number().int().positive()), clear: z.boolean().optional() }));
    return c.json(await operator(c).tenants.setOverrides(c.req.param("id"), overrides, clear));
  });
  app.delete("/v1/tenants/:id", async (c) => {
    const result = await operator(c).tenants.remove(c.req.param("id"));
    forgetTenant?.(result.id);
    return c.json(result);
  });
  app.post("/v1/tenants/:id/keys", async (c) => {
    const input = await body(c, keyBody);
    return c.json(await operator(c).keys.create(c.req.param("id"), { label: input.label, scopes: input.scopes, expiresAt: input.expires_at ?? null }), 201);
  });
  app.post("/v1/keys/:id/rotate", async (c) => c.json(await operator(c).keys.rotate(c.req.param("id"), (await body(c, z.object({ grace_ms: z.number().int().min(0) }))).grace_ms)));
  app.post("/v1/keys/:id/revoke", async (c) => c.json(await operator(c).keys.revoke(c.req.param("id"))));
  app.route("/", oauthAdminRoutes(services, onChange));
  // Paths from the request are checked before any is built: the tenant id is a slug, and the output
  // directory stays inside backups.dir.
  app.post("/v1/backups", async (c) => {
    const input = await body(c, z.object({ out: z.string().optional(), tenant: z.string().optional() }));
    const tenant = input.tenant === undefined ? undefined : assertTenantId(input.tenant);
    const out = confinedPath(services.config.backups.dir, input.out, "out");
    return c.json(await services.backups.backup({ out, tenant }, { actor: actorOf(c) }), 201);
  });

  // Restoring inside the server: it closes the tenant's open database before replacing the file. The
  // backup's manifest may name only control.db and tenants/<id>.db inside it (checked by the service).
  app.post("/v1/restore", async (c) => {
    const input = await body(c, z.object({ dir: z.string().min(1), tenant: z.string().optional() }));
    if (!isAbsolute(input.dir)) throw new AppError("invalid_input", "dir must be an absolute path to a backup directory");
    const tenant = input.tenant === undefined ? undefined : assertTenantId(input.tenant);
    const result = await services.backups.restore(input.dir, tenant, {}, { actor: actorOf(c) });
    onChange();
    return c.json(result);
  });

  // Admission for stdio sessions on this data directory: one set of limits per tenant, whatever the transport.
  admissionRoutes(app, { config: services.config, admission: limits.admission, tenants: services.tenants, parse: body });

  app.notFound((c) => c.json({ error: { code: "not_found", message: `no admin route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => {
    if (error instanceof AppError) return c.json({ error: { code: error.code, message: error.message } }, error.status as 400);
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });
  return app;
}
