/**
 * PostgreSQL connections for tenant stores: one client (pool) per database, int8 read as a JS number (every
 * integer we store — epoch ms, counts, sizes — fits a double), notices dropped, connections recycled after
 * `maxLifetimeS` (each schema a connection touches adds catalog cache PostgreSQL never frees). Also the one
 * mapping of driver and server errors to AppError: an outage is "unavailable" (503, retryable) naming
 * PostgreSQL, never a 500 or a stack.
 */
import type postgres from "postgres";
import { AppError } from "../../errors.ts";
import { connectPostgres, isPgUnreachable } from "../pg-connect.ts";

export type Sql = postgres.Sql<Record<string, never>>;

export type PoolOptions = { max: number; maxLifetimeS: number; database?: string };

/** A pool of at most `max` connections to `url`, or to another database of the same server. */
export function openPool(url: string, options: PoolOptions): Sql {
  const target = new URL(url);
  if (options.database) target.pathname = `/${encodeURIComponent(options.database)}`;
  return connectPostgres(target.href, { max: options.max, maxLifetimeS: options.maxLifetimeS, applicationName: "mcp-mt tenants" }) as unknown as Sql;
}

/** The database name of a URL (the control plane's database: row tenants and tenant schemas live there too). */
export function databaseOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!name) throw new AppError("config_invalid", "storage.url names no database: use postgres://user@host:port/database");
  return name;
}

/** The AppError a PostgreSQL failure stands for (an AppError passes through unchanged). */
export function pgError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = String((error as { code?: unknown })?.code ?? "");
  const cause = error instanceof Error ? `${code ? `${code}: ` : ""}${error.message}` : String(error);
  if (isPgUnreachable(error)) {
    return new AppError("unavailable", "PostgreSQL is unreachable or not accepting connections right now; retry shortly.", { details: { retryAfterSeconds: 1 }, cause });
  }
  if (code === "57014") return new AppError("timeout", "the storage query took too long and was cancelled", { cause });
  if (code === "40001" || code === "40P01" || code === "55P03") {
    return new AppError("unavailable", "This workspace's storage is busy; retry shortly.", { details: { retryAfterSeconds: 1 }, cause });
  }
  if (code === "53100") {
    return new AppError("storage_full", "The server's storage is full: nothing was saved. Try again later; the operator has to free disk space.", { cause });
  }
  return new AppError("internal", "internal error", { cause });
}

