/** /healthz (the process is alive) and /readyz (control plane reachable, schema current, not draining). */
import { Hono } from "hono";
import type { Services } from "../services.ts";
import { version } from "../version.ts";

export type Readiness = { draining: boolean };

export function healthRoutes(services: Pick<Services, "control" | "migrations">, readiness: Readiness): Hono {
  const routes = new Hono();
  routes.get("/healthz", (c) => c.json({ status: "ok", version }));
  routes.get("/readyz", async (c) => {
    if (readiness.draining) return c.json({ status: "draining" }, 503);
    try {
      await services.control.ping();
      return c.json({ status: "ready", tenant_schema: services.migrations.latest });
    } catch {
      return c.json({ status: "unavailable", reason: "control plane unreachable" }, 503);
    }
  });
  return routes;
}
