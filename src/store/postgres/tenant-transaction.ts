/**
 * One tenant call = one PostgreSQL transaction on a pooled connection, opened with the tenant's binding
 * pipelined ahead of its statements: row-level `SET LOCAL ROLE mcp_mt_tenant` + `set_config('app.tenant_id',
 * id, true)`, schema `set_config('search_path', schema, true)`. Both end with the transaction, so a pooled
 * connection never carries one request's tenant into the next.
 *
 * Deadlines: when the request's signal aborts, the call is answered at once with the same timeout error the
 * libSQL registry gives, and the running statement is cancelled. The transaction keeps its connection until
 * the cancel request has been delivered, so the cancel can never reach another request's statement.
 */
import { abortError } from "../../errors.ts";
import { pgError, type Sql } from "./connection.ts";

/** Runs one statement of the transaction (prepared, positional parameters) and returns its rows. */
export type Exec = <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;

/** How a tenant's transactions are bound: the statements that open each one (run before any other). */
export type Binding = { text: string; params: unknown[] }[];

export const rowBinding = (tenant: string): Binding => [
  { text: "SET LOCAL ROLE mcp_mt_tenant", params: [] },
  { text: "SELECT set_config('app.tenant_id', $1, true)", params: [tenant] },
];

export const schemaBinding = (schema: string): Binding => [{ text: "SELECT set_config('search_path', $1, true)", params: [`"${schema}"`] }];

/** Longest wait for cancel requests to be delivered before the connection is given back anyway. */
const cancelWaitMs = 10_000;

/**
 * Cancels the transaction's unfinished statements, again every 250 ms while any is still running: a cancel
 * that reaches the server between two pipelined messages is ignored, and the statement would then wait on
 * (a lock, say) for as long as it likes. Safe to repeat: the connection is ours until this ends.
 */
async function cancelUntilDone(running: Set<{ cancel(): unknown }>): Promise<void> {
  for (let round = 0; running.size > 0 && round < 20; round++) {
    if (round > 0) await Bun.sleep(250);
    await Promise.allSettled([...running].map((query) => query.cancel()));
  }
}

export async function inTransaction<T>(sql: Sql, binding: Binding, signal: AbortSignal | undefined, fn: (exec: Exec) => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortError(signal);
  const running = new Set<{ cancel(): unknown }>();
  let cancelled: Promise<unknown> | undefined;
  const work = sql.begin(async (tx) => {
    if (signal?.aborted) throw abortError(signal);
    const send = (text: string, params: unknown[]) => {
      const query = tx.unsafe(text, params as never[], { prepare: true });
      running.add(query);
      // A finished query must not be cancelled: its connection may already run another statement.
      const done = () => void running.delete(query);
      query.then(done, done);
      return query;
    };
    // Pipelined: sent now, not awaited; a failure fails the transaction (the driver reports it).
    for (const statement of binding) send(statement.text, statement.params);
    const exec: Exec = async <R>(text: string, params: unknown[] = []) => {
      if (cancelled) throw abortError(signal!);
      return (await send(text, params)) as unknown as R[];
    };
    try {
      const result = await fn(exec);
      // Answered already (timeout): whatever ran is rolled back, never committed behind the caller's back.
      if (cancelled) throw abortError(signal!);
      return result;
    } finally {
      // Hold the connection until a cancel sent for it has been delivered (see the header).
      if (cancelled) await Promise.race([cancelled, Bun.sleep(cancelWaitMs)]);
    }
  }) as Promise<T>;
  if (!signal) return work.catch((error) => Promise.reject(pgError(error)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cancelled = cancelUntilDone(running);
      reject(abortError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, (error) => reject(pgError(error))).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
