/**
 * Liveness (/healthz, /health: the process is alive) and readiness (/readyz, /ready: control plane reachable,
 * schema current, not draining, and every REQUIRED dependency answering). /health and /ready are the paths
 * the design's Kubernetes manifest probes; both names answer alike.
 */
import { Hono, type Context } from "hono";
import type { Services } from "../services.ts";
import { version } from "../version.ts";

/** Something readiness asks: `check` rejects when it is unreachable. Not required: it only degrades readiness. */
export type ReadinessDependency = { name: string; required: boolean; check(): Promise<void>; whenDown: string };

export type Readiness = { draining: boolean; dependencies?: ReadinessDependency[] };

export function healthRoutes(services: Pick<Services, "control" | "migrations">, readiness: Readiness): Hono {
  const routes = new Hono();
  const live = (c: Context) => c.json({ status: "ok", version });
  const ready = async (c: Context) => {
    if (readiness.draining) return c.json({ status: "draining" }, 503);
    try {
      await services.control.ping();
    } catch {
      return c.json({ status: "unavailable", reason: "control plane unreachable", failed: ["control_plane"] }, 503);
    }
    const dependencies = readiness.dependencies ?? [];
    if (dependencies.length === 0) return c.json({ status: "ready", tenant_schema: services.migrations.latest });
    const results = await Promise.all(dependencies.map(async (d) => ({ d, error: await d.check().then(() => null, () => "unreachable") })));
    // Unauthenticated: the state only, never the error text (it can name hosts and ports).
    const states = Object.fromEntries(results.map(({ d, error }) => [d.name, error === null ? "ok" : "unreachable"]));
    const down = results.filter((r) => r.error !== null);
    const failed = down.filter((r) => r.d.required).map((r) => r.d.name);
    if (failed.length > 0) return c.json({ status: "unavailable", reason: `${failed.join(", ")} unreachable`, failed, dependencies: states }, 503);
    if (down.length > 0) return c.json({ status: "degraded", tenant_schema: services.migrations.latest, reason: down.map((r) => r.d.whenDown).join("; "), dependencies: states });
    return c.json({ status: "ready", tenant_schema: services.migrations.latest, dependencies: states });
  };
  routes.get("/healthz", live);
  routes.get("/health", live);
  routes.get("/readyz", ready);
  routes.get("/ready", ready);
  return routes;
}
