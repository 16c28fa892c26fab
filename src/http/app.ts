/** The hono app: ONE ordered middleware list, top to bottom the whole request pipeline. */
import { Hono } from "hono";
import type { Logger } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import { healthRoutes, type Readiness } from "./health.ts";

export type AppDeps = { runtime: Runtime; log: Logger; readiness: Readiness };

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(deps.runtime, deps.readiness));
  return app;
}
