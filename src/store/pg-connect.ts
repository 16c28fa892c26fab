/** PostgreSQL connections: one way to open a postgres.js pool, and to name a connection failure for a person. */
import postgres, { type Sql } from "postgres";

export type PgPoolOptions = {
  /** Most connections of this pool. */
  max: number;
  /** A connection is replaced after this many seconds (catalog caches of touched schemas are never freed). */
  maxLifetimeS: number;
  /** Seconds to wait for a new connection before failing. */
  connectTimeoutS?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
};

/** A pool on `url`: int8 read as a JS number (every integer we store fits a double), notices dropped. */
export function connectPostgres(url: string, options: PgPoolOptions): Sql {
  return postgres(url, {
    max: options.max,
    max_lifetime: options.maxLifetimeS,
    idle_timeout: 60,
    connect_timeout: options.connectTimeoutS ?? 5,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? "mcp-mt" },
    types: { bigint: { to: 20, from: [20], parse: (value: string) => Number(value), serialize: (value: number) => String(value) } },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
}

/** The URL as it may be printed: the password replaced. */
export function redactedPgUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "REDACTED";
    return parsed.toString();
  } catch {
    return "(an invalid URL)";
  }
}

/** Network-level failures: PostgreSQL is down or unreachable (retryable), as opposed to a statement's error. */
export function isPgUnreachable(error: unknown, depth = 0): boolean {
  const code = (error as { code?: string } | null)?.code ?? "";
  // drizzle wraps the driver's error as its cause.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause && depth < 3 && isPgUnreachable(cause, depth + 1)) return true;
  // SQLSTATE classes: 08 connection exceptions, 57P01-03 shutting down or starting, 53300/53400 too many connections.
  if (/^(08|57P0[1-3]|53300|53400)/.test(code)) return true;
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"].includes(code);
}

/** One line naming what went wrong with PostgreSQL, without a stack. */
export function describePgError(error: unknown): string {
  const e = error as { code?: string; message?: string } | null;
  if (isPgUnreachable(error)) return `PostgreSQL is unreachable (${e?.code})`;
  return e?.message ? e.message.split("\n")[0]! : String(error);
}
