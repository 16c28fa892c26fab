/** Scope check before the MCP handler: a tool (or resource read) the credential may not use is 403 insufficient_scope. */
import type { MiddlewareHandler } from "hono";
import type { Authenticated } from "../../auth/authenticate.ts";
import type { Scope } from "../../auth/scopes.ts";
import type { AppEnv } from "../env.ts";
import { rpcCodes, rpcErrorResponse } from "../jsonrpc.ts";
import type { Challenges } from "../well-known.ts";

const resourceMethods = new Set(["resources/read", "resources/list", "resources/templates/list"]);

/** The scope a request needs, or null when any authenticated caller may make it. */
export function requiredScope(toolScopes: Map<string, Scope>, method: string | null, tool: string | null): Scope | null {
  if (method === "tools/call" && tool !== null) return toolScopes.get(tool) ?? null;
  if (method !== null && resourceMethods.has(method)) return "documents:read";
  return null;
}

/**
 * `charge` makes a denial cost what the request would have cost (admit.ts chargeRefusal): a client
 * hammering a 403 gets 429 with Retry-After once its window is spent.
 */
export function authorize(
  toolScopes: Map<string, Scope>,
  challenges: Challenges,
  onDenied: (c: Parameters<MiddlewareHandler<AppEnv>>[0], scope: Scope) => void,
  charge: (c: Parameters<MiddlewareHandler<AppEnv>>[0], tenant: Authenticated["tenant"]) => Promise<Response | null> = async () => null,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const rpc = c.get("rpc");
    const scope = requiredScope(toolScopes, rpc.method, rpc.tool);
    if (scope !== null && !c.get("auth").principal.scopes.includes(scope)) {
      const limited = await charge(c, c.get("auth").tenant);
      if (limited) return limited;
      onDenied(c, scope);
      const what = rpc.tool ? `the tool ${rpc.tool}` : rpc.method;
      return rpcErrorResponse(403, rpcCodes.forbidden, `Forbidden: ${what} needs the ${scope} scope, which this credential does not have`, {
        id: rpc.id,
        headers: { "www-authenticate": challenges.insufficientScope(scope) },
        data: { requiredScope: scope },
      });
    }
    await next();
  };
}
