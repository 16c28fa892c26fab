/**
 * Connection pools of database-strategy tenants: a small pool per tenant database (`poolMax` connections),
 * at most `poolsMax` pools open per instance, the least recently used idle pool closed beyond that. With the
 * shared pool this bounds what one instance can hold: pool_max + poolsMax × poolMax connections.
 */
import { openPool, type Sql } from "./connection.ts";

type Entry = { sql: Sql; busy: number };

export type DatabasePoolsOptions = { url: string; poolMax: number; poolsMax: number; maxLifetimeS: number };

export class DatabasePools {
  readonly #o: DatabasePoolsOptions;
  /** In recency order: a use deletes and re-inserts. */
  readonly #pools = new Map<string, Entry>();

  constructor(options: DatabasePoolsOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#pools.size;
  }

  has(database: string): boolean {
    return this.#pools.has(database);
  }

  /** Runs `fn` with the database's pool, opening it (and closing the least recently used idle ones) as needed. */
  async use<T>(database: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    let entry = this.#pools.get(database);
    if (entry) this.#pools.delete(database);
    else entry = { sql: openPool(this.#o.url, { max: this.#o.poolMax, maxLifetimeS: this.#o.maxLifetimeS, database }), busy: 0 };
    this.#pools.set(database, entry);
    entry.busy++;
    this.#evict();
    try {
      return await fn(entry.sql);
    } finally {
      entry.busy--;
      this.#evict();
    }
  }

  /** Closes the database's pool (before the database is dropped); waits for its connections to end. */
  async close(database: string): Promise<void> {
    const entry = this.#pools.get(database);
    if (!entry) return;
    this.#pools.delete(database);
    await entry.sql.end({ timeout: 5 });
  }

  async closeAll(): Promise<void> {
    const entries = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(entries.map((entry) => entry.sql.end({ timeout: 5 })));
  }

  /** Beyond the budget, closes idle pools from the least recently used; a busy pool is closed when it is idle. */
  #evict(): void {
    if (this.#pools.size <= this.#o.poolsMax) return;
    for (const [database, entry] of this.#pools) {
      if (this.#pools.size <= this.#o.poolsMax) break;
      if (entry.busy > 0) continue;
      this.#pools.delete(database);
      void entry.sql.end({ timeout: 5 }).catch(() => undefined);
    }
  }
}
