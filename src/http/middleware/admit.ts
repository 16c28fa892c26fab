/** Rate limits, quotas, the CPU budget and the concurrency and stream caps on the HTTP path: 429 with Retry-After and RateLimit headers. */
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../../config/schema.ts";
import { deniedError, type Admitter } from "../../limits/gate.ts";
import type { Denied } from "../../limits/denials.ts";
import { effectivePlan } from "../../limits/plan.ts";
import type { TenantRow } from "../../store/control/schema.ts";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../jsonrpc.ts";

/** `admission`: the same Admitter stdio uses (src/limits/gate.ts); a refusal becomes an AppError mapped by the one table. */
export function admit(admission: Admitter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const rpc = c.get("rpc");
    const { tenant, principal } = c.get("auth");
    const result = await admission.admit({ tenant, method: rpc.method, tool: rpc.tool, args: argumentsOf(rpc.body), scopes: principal.scopes });
    if (!result.ok) return deniedResponse(result, rpc.id);
    c.set("plan", result.plan);
    try {
      await next();
    } catch (error) {
      result.endStream?.();
      throw error;
    } finally {
      result.release();
    }
    // A stream (subscriptions/listen) holds its stream slot until its body ends, however it ends.
    if (result.endStream) c.res = holdUntilBodyEnds(c.res, result.endStream);
    for (const [name, value] of Object.entries(result.headers)) c.res.headers.set(name, value);
  };
}

/**
 * For refusals made before admission (403 insufficient scope, 403 suspended tenant): charges the units the
 * request would have cost, and returns the 429 to send instead once the tenant's window is spent, else null.
 */
export function chargeRefusal(admission: Admitter | null) {
  return async (c: Context<AppEnv>, tenant: Pick<TenantRow, "id" | "plan" | "overrides">): Promise<Response | null> => {
    if (!admission) return null;
    // A suspended tenant is refused from the headers, before its body is read: the method is the Mcp-Method
    // header's (2026-07-28 clients send it), else it is charged as what such clients mostly send, a tool call.
    const rpc = c.get("rpc") as AppEnv["Variables"]["rpc"] | undefined;
    const method = rpc ? rpc.method : (c.req.header("mcp-method") ?? "tools/call");
    const tool = rpc ? rpc.tool : (c.req.header("mcp-name") ?? null);
    const denied = await admission.chargeRefusal(tenant, method, tool);
    return denied ? deniedResponse(denied, rpc?.id ?? null) : null;
  };
}

/** With limits.enabled = false: no limits and no metering; the request still runs under the plan's timeout. */
export function unlimited(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("plan", effectivePlan(config, c.get("auth").tenant));
    await next();
  };
}

const deniedResponse = (denied: Denied, id: string | number | null) => errorResponse(deniedError(denied), id);

function argumentsOf(body: unknown): unknown {
  const params = (body as { params?: unknown } | null)?.params;
  return typeof params === "object" && params !== null ? (params as { arguments?: unknown }).arguments : undefined;
}

/** The same response, calling `done` once when its body has been sent, failed, or been cancelled by the client. */
function holdUntilBodyEnds(response: Response, done: () => void): Response {
  if (!response.body) {
    done();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read();
        if (finished) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
