/**
 * Reuses McpServer instances across HTTP requests. The SDK wants one instance per exchange; building one
 * (registering tools, converting their zod schemas to JSON Schema) costs ~90 µs, reusing one ~nothing.
 * An instance serves one request at a time: it is taken here, bound to that request's tenant context, and
 * given back when its transport closes. Instances are keyed by protocol era and the scope set they list tools for.
 * Tool handlers capture the context when they start, so a reused instance never sees another request's.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { allScopes, type Scope } from "../auth/scopes.ts";
import type { TenantContext } from "../tenancy/context.ts";
import { buildServer, type Catalogue } from "./server.ts";

type Pooled = { server: McpServer; ref: { current: TenantContext | null }; key: string };

export class ServerPool {
  readonly #catalogue: Catalogue;
  readonly #max: number;
  readonly #idle = new Map<string, Pooled[]>();

  constructor(catalogue: Catalogue, maxIdlePerKey = 64) {
    this.#catalogue = catalogue;
    this.#max = maxIdlePerKey;
  }

  /** An idle server (or a new one) bound to `ctx` until its transport closes. */
  take(ctx: TenantContext, era: "modern" | "legacy"): McpServer {
    const scopes: readonly Scope[] = this.#catalogue.filterByScope ? ctx.principal.scopes : allScopes;
    // The SDK configures an instance for the era it serves: never hand one era's instance to the other.
    const key = `${era}|${[...scopes].sort().join(" ")}`;
    let pooled = this.#idle.get(key)?.pop();
    if (!pooled) {
      const ref: Pooled["ref"] = { current: null };
      const server = buildServer(this.#catalogue, () => ref.current ?? unbound(), scopes);
      const created: Pooled = { server, ref, key };
      server.server.onclose = () => this.#giveBack(created);
      pooled = created;
    }
    pooled.ref.current = ctx;
    return pooled.server;
  }

  #giveBack(pooled: Pooled): void {
    pooled.ref.current = null;
    const idle = this.#idle.get(pooled.key) ?? [];
    if (idle.length < this.#max) idle.push(pooled);
    this.#idle.set(pooled.key, idle);
  }
}

function unbound(): never {
  throw new Error("a pooled MCP server ran outside a request");
}
