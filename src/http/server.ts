/** Runs the HTTP(S) server on Bun.serve: start-up banner, certificate reload on SIGHUP, graceful drain on SIGTERM/SIGINT. */
import { chmodSync, rmSync } from "node:fs";
import { readSecretFile } from "../config/secret-file.ts";
import { adminApp, type AdminDeps } from "../admin/api.ts";
import { adminSocketPath } from "../admin/client.ts";
import { resolve } from "node:path";
import { parseDuration } from "../duration.ts";
import type { Logger } from "../log.ts";
import type { Config } from "../config/schema.ts";
import type { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { claimDataDir } from "../tenancy/server-lock.ts";
import { mkdirSync } from "node:fs";
import type { LoadedConfig } from "../config/load.ts";
import { AppError } from "../errors.ts";
import { mcpEndpoint } from "../config/urls.ts";
import { createLogger } from "../log.ts";
import { createServices, storeWorkers, type Services } from "../services.ts";
import { serverActor } from "../audit/actor.ts";
import { raiseFdLimit } from "../tenancy/fd-limit.ts";
import { monotonicNow } from "../limits/monotonic-clock.ts";
import { Authenticator } from "../auth/authenticate.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { createLimits, redisDependency } from "../limits/setup.ts";
import { LiveStats } from "../metering/live-stats.ts";
import { buildCatalogue } from "../mcp/server.ts";
import { createApp } from "./app.ts";
import type { Readiness } from "./health.ts";
import { connectionEdge } from "./connection-edge.ts";
import { startMetricsListener } from "./metrics.ts";
import { openAuthorizationServer } from "../oauth/authorization-server.ts";
import { oauthEnabled } from "../oauth/settings.ts";

export type RunningServer = { url: string; port: number; finished: Promise<number>; stop(): Promise<void> };

/** Where to listen: `serve --host/--port` override server.host/server.port without touching the loaded config. */
export type ListenAddress = { host: string; port: number };

/** The config as this server runs it: the listen address it really has (port 0 becomes the port the OS chose). */
export const withListenAddress = (config: Config, address: ListenAddress): Config => ({ ...config, server: { ...config.server, host: address.host, port: address.port } });

export async function startServer(loaded: LoadedConfig, overrides: Partial<ListenAddress> = {}): Promise<RunningServer> {
  const { config } = loaded;
  const requested: ListenAddress = { host: overrides.host ?? config.server.host, port: overrides.port ?? config.server.port };
  const log = createLogger(config.log);
  const fdLimit = raiseFdLimit();
  const maxOpen = openFileCap(config.tenancy.max_open_tenants, fdLimit);
  const workers = storeWorkers(config);
  const services = await createServices(loaded, { workers, maxOpen: maxOpen.cap, log });
  if (maxOpen.cap < config.tenancy.max_open_tenants) {
    log.warn("open tenant files capped by the descriptor limit", { max_open_tenants: config.tenancy.max_open_tenants, cap: maxOpen.cap, fd_limit: fdLimit, hint: "raise the limit (ulimit -n, LimitNOFILE=) to keep more tenants open" });
  }
  // One server owns a data directory (its pid file and admin socket). With shared limits in Redis, more
  // instances may serve the same directory: they run without the admin socket, and see changes within 1 s.
  let releaseDataDir: (() => void) | undefined;
  try {
    // On PostgreSQL nothing else creates it: an instance starting in an empty directory (a fresh pod) makes its own.
    mkdirSync(config.data.dir, { recursive: true, mode: 0o700 });
    releaseDataDir = claimDataDir(config.data.dir);
  } catch (error) {
    if (!config.limits.redis_url) {
      await services.close();
      throw new AppError("conflict", `${(error as Error).message}; stop it first, or share limits through Redis (limits.redis_url) to run several instances`);
    }
    log.warn("another instance owns this data directory; serving without the admin socket", { error: (error as Error).message });
  }
  const readiness: Readiness = { draining: false };
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const tls = config.server.tls;
  const edge = connectionEdge(config);
  // Until the app is built (it needs the port the OS chose), a request gets 503 like a draining server.
  let app: Hono<AppEnv> | undefined;
  const listen = (port: number) =>
    Bun.serve({
      hostname: requested.host,
      port,
      // Lets a reloaded listener (new certificate) take over the port before the old one stops.
      reusePort: Boolean(tls.cert),
      ...(tls.cert ? { tls: readCertificate(tls.cert, tls.key) } : {}),
      async fetch(request) {
        if (!app) return Response.json({ status: "starting" }, { status: 503 });
        inFlight++;
        try {
          return await edge(request, this, () => app!.fetch(request, this));
        } finally {
          if (--inFlight === 0) idle?.();
        }
      },
      // The app enforces server.max_body_bytes itself, answering a JSON-RPC 413 (Bun's own is empty and closes).
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      idleTimeout: Math.ceil(config.server.idle_timeout_ms / 1000),
      development: false,
    });
  // A busy port throws here: `serve` reports it and exits at once (the kernel releases the data directory's lock).
  let server = listen(requested.port);
  const port = server.port ?? requested.port;
  // Everything that names our URL (metadata, audience, the admin API's status) uses the real address.
  const effective = withListenAddress(config, { host: requested.host, port });
  const limits = createLimits(services, log);
  // With Redis shared, readiness asks it too (required under failure_mode closed).
  if (limits.redis) readiness.dependencies = [redisDependency(limits.redis, config.limits.failure_mode)];
  const oauth = oauthEnabled(effective) ? await openAuthorizationServer({ ...services, config: effective }, { redis: limits.redis }) : null;
  const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: services.clock, jwt: JwtVerifier.fromConfig(effective), own: oauth?.ownTokens });
  // Other instances (or the CLI) change keys and tenants in a shared control plane: drop cached verifications at once.
  await services.control.onChange(() => authenticator.forget());
  // Every tenant call's CPU time on its store worker is charged to the tenant's budget.
  services.storage.observeBusy((tenant, ms) => limits.cpu.charge(tenant, ms));
  const stats = new LiveStats({ clock: services.clock, tenantLabels: config.metrics.tenant_labels, tools: buildCatalogue(config).tools.map((tool) => tool.name) });
  app = createApp({ config: effective, services, log, readiness, authenticator, limits, stats, metricsToken: loaded.secrets.metricsToken, oauth });
  const flushUsage = () => authenticator.flushUsage().catch((error) => log.warn("could not record key use", { error: String(error) }));
  const usageTimer = setInterval(flushUsage, 5_000);
  const url = mcpEndpoint(effective);
  const tenantCount = (await services.tenants.list()).length;
  const lines = [`mcp-mt listening on ${url}`, `data directory: ${config.data.dir}`];
  if (tenantCount === 0) lines.push("no tenants yet: add the first one with `mcp-mt tenant add <id>` (it prints the API key)");

  const backupTimer = scheduleBackups(services, log);
  const metrics = startMetricsListener({ config, stats, registry: services.storage, meter: limits.meter, audit: services.audit, token: loaded.secrets.metricsToken }, log);
  const admin = releaseDataDir ? startAdmin({ services, mcpUrl: url, stats, limits, readiness, onChange: () => authenticator.forget(), forgetTenant: (id) => limits.forgetTenant(id) }, loaded.secrets.adminToken, log) : { stop: async () => undefined };


  let resolveFinished!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (resolveFinished = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      readiness.draining = true;
      const timeoutMs = config.server.shutdown_timeout_ms;
      // One deadline for the whole stop. Draining may use all but the last part, kept for the flushes.
      const deadline = monotonicNow() + timeoutMs;
      const flushReserveMs = Math.min(2_000, Math.floor(timeoutMs / 2));
      log.info("draining", { timeout_ms: timeoutMs });
      // A wedged step (a statement that never returns, a spinning thread) must not keep the process alive:
      // a watchdog on its own thread ends it at the deadline even if this event loop is blocked.
      const watchdog = startShutdownWatchdog(timeoutMs + 1_000);
      // New requests get 503 (readiness.draining); in-flight ones may finish, then idle keep-alive connections close.
      const drained = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
      const timedOut = (await withDeadline(drained, deadline - flushReserveMs - monotonicNow())) === "timeout";
      if (timedOut) log.warn("shutdown timeout reached; closing remaining connections", { in_flight: inFlight });
      const lost: { step: string; reason: string }[] = [];
      /** Runs one step of the stop within what is left of the deadline; a failure or overrun is recorded by name. */
      const step = async (name: string, fn: () => Promise<unknown> | unknown) => {
        const outcome = await withDeadline(Promise.resolve().then(fn), deadline - monotonicNow());
        if (outcome === "done") return;
        const reason = outcome === "timeout" ? "did not finish before server.shutdown_timeout_ms" : errorText(outcome.error);
        lost.push({ step: name, reason });
        log.error(`shutdown: ${name} failed`, { step: name, error: reason });
      };
      clearInterval(usageTimer);
      clearInterval(backupTimer);
      await step("stop listening", () => server.stop(true));
      await step("metrics listener", () => metrics?.stop());
      await step("admin API", () => admin.stop());
      await step("key last-used flush", () => authenticator.flushUsage());
      await step("usage meter flush and refusal audit", () => limits.close());
      await step("OAuth", () => oauth?.close());
      await step("tenant checkpoints and close", () => services.close());
      releaseDataDir?.();
      watchdog.cancel();
      if (lost.length) {
        log.error("shutdown could not finish everything", { lost: lost.map((l) => l.step), details: lost });
        resolveFinished(1);
      } else {
        log.info("stopped");
        resolveFinished(0);
      }
    })());
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void stop());
  // SIGHUP (systemctl reload) reloads the certificate; without TLS there is nothing to reload, and the
  // default action (terminate) must not take the server down.
  process.on("SIGHUP", () => {
    if (!tls.cert) return log.info("SIGHUP: nothing to reload (server.tls is not configured)");
    // Certificate renewal without downtime: a new listener with the new files, then the old one drains.
    try {
      const next = listen(port);
      const old = server;
      server = next;
      void old.stop(false);
      log.info("certificate reloaded", { cert: tls.cert });
    } catch (error) {
      log.error("certificate reload failed; keeping the current one", { error: error instanceof Error ? error.message : String(error) });
    }
  });
  // Announce only once everything is up: admin socket, signal handlers (a SIGHUP right after must not kill us).
  process.stdout.write(`${lines.join("\n")}\n`);
  log.info("server started", { url, data_dir: config.data.dir, tenants: tenantCount, fd_limit: fdLimit, max_open_tenants: maxOpen.cap, store_workers: workers });
  return { url, port, finished, stop };
}

/**
 * How many tenant files may be open at once: the configured cap, lowered to what the descriptor limit allows,
 * keeping a quarter (at least 128) for sockets, worker threads and the control plane. Each WAL database holds
 * 3 descriptors, and a closed one keeps them until its worker next collects garbage: measured at `ulimit -n
 * 256` with 2,000 calls over 1,000 tenants, files awaiting collection about matched the open ones, so each
 * open file is budgeted 6.
 */
export function openFileCap(configured: number, fdLimit: number | null): { cap: number } {
  if (fdLimit === null) return { cap: configured };
  const headroom = Math.max(128, Math.floor(fdLimit / 4));
  return { cap: Math.max(1, Math.min(configured, Math.floor((fdLimit - headroom) / 6))) };
}

type Outcome = "done" | "timeout" | { error: unknown };

/** Waits for `promise` at most `ms` (none left: "timeout" at once, the promise left running). */
async function withDeadline(promise: Promise<unknown>, ms: number): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then((): Outcome => "done", (error): Outcome => ({ error })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Ends the process from another thread if the stop overruns its deadline by `ms` (the main thread may be
 * the one that is stuck). Exit code 1: what was not flushed is lost, and a supervisor should know.
 */
function startShutdownWatchdog(ms: number): { cancel(): void } {
  const source = `const [pid, ms] = ${JSON.stringify([process.pid, ms])};
setTimeout(() => { process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "shutdown overran server.shutdown_timeout_ms; exiting now", pid }) + "\\n"); process.kill(pid, "SIGKILL"); }, ms);`;
  try {
    const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
    const worker = new Worker(url);
    worker.unref();
    return { cancel: () => void worker.terminate() };
  } catch {
    // No thread to spare (e.g. out of descriptors): the stop still runs, under its deadlines.
    return { cancel: () => undefined };
  }
}

/** Reads the PEM files, failing with a message that names them (never their content). */
function readCertificate(cert: string, key: string): { cert: string; key: string } {
  if (!key) throw new AppError("config_invalid", "server.tls.key is required with server.tls.cert");
  return { cert: readSecretFile(cert, "server.tls.cert"), key: readSecretFile(key, "server.tls.key") };
}

/** Scheduled backups (backups.interval): one every interval, the newest backups.keep kept. */
function scheduleBackups(services: Pick<Services, "config" | "backups">, log: Logger): ReturnType<typeof setInterval> | undefined {
  const { interval, dir, keep } = services.config.backups;
  if (interval === "0") return undefined;
  const everyMs = parseDuration(interval, "backups.interval");
  const out = resolve(dir);
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const { dir: written } = await services.backups.backup({ out }, serverActor);
      const pruned = services.backups.prune(out, keep);
      log.info("scheduled backup written", { dir: written, pruned: pruned.length });
    } catch (error) {
      log.error("scheduled backup failed", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      running = false;
    }
  }, everyMs);
  return timer;
}

/** The admin API: always on the Unix socket <data.dir>/admin.sock (0600), optionally on loopback TCP with a token. */
function startAdmin(deps: AdminDeps, token: string | undefined, log: Logger): { stop(): Promise<void> } {
  const app = adminApp(deps);
  const socket = adminSocketPath(deps.services.config.data.dir);
  rmSync(socket, { force: true });
  const unix = Bun.serve({ unix: socket, fetch: app.fetch });
  chmodSync(socket, 0o600);
  const port = deps.services.config.admin.tcp_port;
  let tcp: ReturnType<typeof Bun.serve> | undefined;
  if (port) {
    if (!token) throw new AppError("config_invalid", "admin.tcp_port needs MCP_MT_ADMIN_TOKEN");
    tcp = Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch: (request) => (request.headers.get("authorization") === `Bearer ${token}` ? app.fetch(request) : Response.json({ error: { code: "unauthorized", message: "admin token required" } }, { status: 401 })),
    });
  }
  log.info("admin API listening", { socket, tcp_port: port || null });
  return {
    async stop() {
      await unix.stop(true);
      await tcp?.stop(true);
      rmSync(socket, { force: true });
    },
  };
}
