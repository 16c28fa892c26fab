/** Typed context variables: each middleware sets one, later layers read it. */
import type { Authenticated } from "../auth/authenticate.ts";
import type { Plan } from "../config/schema.ts";
import type { RpcId } from "./jsonrpc.ts";

/** What the body parser learnt about the JSON-RPC message (for routing, logs and limits). */
export type RpcInfo = { id: RpcId; method: string | null; tool: string | null; era: "2026-07-28" | "2025" ; body: unknown };

export type AppEnv = {
  Variables: {
    requestId: string;
    rpc: RpcInfo;
    auth: Authenticated;
    /** The client's address (socket peer, or X-Forwarded-For with server.trust_proxy), computed on first use. */
    client: () => string;
    /** Set when the client went away mid-request: counted as a client abort, not as an error. */
    clientAborted: boolean;
    /** The tenant's effective limits, set by admission. */
    plan: Plan;
  };
};
