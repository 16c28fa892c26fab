/**
 * A throwaway PostgreSQL server for one `bun test` process: started on first use from the Debian packages as
 * the unprivileged `postgres` user (initdb refuses root), on a random loopback port with a private socket
 * directory and `fsync=off`, stopped and deleted when the process exits. Each test file asks for its own
 * database (`pgDatabase()`), owned by a LOGIN role that is neither superuser nor BYPASSRLS, as a real
 * deployment's server role would be.
 */
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type PgServer = {
  port: number;
  /** A superuser URL (for test setup and inspection only; the server under test never uses it). */
  adminUrl: (database?: string) => string;
  /** A URL for the application role (`mcp_app`: LOGIN CREATEDB CREATEROLE, not superuser, no BYPASSRLS). */
  appUrl: (database: string) => string;
  /** Runs SQL as the superuser through psql; returns stdout (tuples only, unaligned). */
  psql: (sql: string, database?: string) => string;
  restart: () => void;
  stop: () => void;
  start: () => void;
};

export const APP_ROLE = "mcp_app";
export const APP_PASSWORD = "app-secret-for-tests";

let server: PgServer | null = null;
let databases = 0;

/** The directory holding initdb/pg_ctl of the newest installed major version, or null when none is installed. */
export function pgBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : null;
}

const asPostgres = (args: string[]) => {
  const isRoot = process.getuid?.() === 0;
  return isRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
};

function run(args: string[], what: string): string {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** The run's PostgreSQL server, started on first call. */
export function pgServer(): PgServer {
  if (server) return server;
  const bin = pgBinDir();
  if (!bin) throw new Error("PostgreSQL is not installed (the test command installs postgresql from the Debian packages)");
  const root = mkdtempSync(join(tmpdir(), "mcp-mt-pg-"));
  const dataDir = join(root, "data");
  const socketDir = join(root, "sock");
  run(["mkdir", "-p", socketDir], "mkdir");
  if (process.getuid?.() === 0) {
    chownSync(root, uidOf("postgres"), -1);
    chownSync(socketDir, uidOf("postgres"), -1);
  }
  run(asPostgres([join(bin, "initdb"), "-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"]), "initdb");
  const port = freePort();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB`;
  const start = () => run(asPostgres([join(bin, "pg_ctl"), "-D", dataDir, "-o", options, "-l", join(root, "log"), "-w", "-t", "60", "start"]), "pg_ctl start");
  const stop = () => run(asPostgres([join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop"]), "pg_ctl stop");
  start();
  const psql = (sql: string, database = "postgres") => run(["psql", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], "psql");
  psql(`CREATE ROLE ${APP_ROLE} LOGIN CREATEDB CREATEROLE PASSWORD '${APP_PASSWORD}'`);
  // A watchdog outlives this process (bun test does not always run exit handlers, and a test run may be
  // killed): when the process is gone it stops the server and deletes its directory.
  const stopCommand = asPostgres([join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop"]).join(" ");
  Bun.spawn(["sh", "-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; ${stopCommand} >/dev/null 2>&1; rm -rf ${root}`], { stdio: ["ignore", "ignore", "ignore"] }).unref();
  server = {
    port,
    adminUrl: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    appUrl: (database) => `postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${port}/${database}`,
    psql,
    restart: () => {
      stop();
      start();
    },
    stop,
    start,
  };
  return server;
}

/** A new, empty database owned by the application role; returns its application URL. */
export function pgDatabase(label = "t"): { name: string; url: string; server: PgServer } {
  const pg = pgServer();
  const name = `${label.replace(/[^a-z0-9_]/g, "_")}_${process.pid}_${++databases}`;
  pg.psql(`CREATE DATABASE ${name} OWNER ${APP_ROLE}`);
  return { name, url: pg.appUrl(name), server: pg };
}

function uidOf(user: string): number {
  return Number(run(["id", "-u", user], "id").trim());
}
