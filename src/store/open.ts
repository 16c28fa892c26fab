/** Opens one libSQL file: a single connection (one writer), WAL, busy timeout, synchronous level. */
import { createClient, type Client } from "@libsql/client";
import { pathToFileURL } from "node:url";

export type SqliteOptions = { synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA"; busyTimeoutMs: number };

/** A libSQL client on a local file, with one connection so there is exactly one writer per file. */
export async function openSqlite(path: string, options: SqliteOptions): Promise<Client> {
  const client = createClient({
    url: pathToFileURL(path).href,
    concurrency: 1,
    intMode: "number",
    timeout: options.busyTimeoutMs,
  });
  try {
    // Pragmas are per connection; with concurrency 1 the pool keeps this one connection.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute(`PRAGMA synchronous = ${options.synchronous}`);
    await client.execute(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}
