/**
 * Admission for `mcp-mt stdio` sessions on the same data directory: they ask the running server, so a
 * tenant has one rate window, one quota and one concurrency cap whichever transport its calls come over.
 * A decision hands out a ticket that holds the slot until released (or until it expires, when the stdio
 * process died without releasing it).
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { AppError } from "../errors.ts";
import type { AdmissionAnswer } from "../limits/gate.ts";
import type { Admission } from "../limits/admission.ts";
import type { TenantService } from "../tenancy/tenants.ts";

const admitBody = z.object({
  tenant: z.string(),
  method: z.string().nullable(),
  tool: z.string().nullable(),
  args_valid: z.boolean().nullable(),
  scopes: z.array(z.string()).optional(),
});
// A stdio process's store calls, measured there: at most an hour of CPU time in one charge.
const cpuBody = z.object({ tenant: z.string(), cpu_ms: z.number().nonnegative().max(3_600_000) });
const releaseBody = z.object({ ticket: z.string(), end_stream: z.boolean() });
const chargeBody = z.object({
  tenant: z.object({ id: z.string(), plan: z.string(), overrides: z.record(z.string(), z.number()) }),
  method: z.string().nullable(),
  tool: z.string().nullable(),
});

/** A stream's slot is given back after this long at most if its stdio process never says it ended. */
const streamTicketMs = 3_600_000;

type Ticket = { release(): void; endStream?: () => void; expiry: ReturnType<typeof setTimeout> };

export function admissionRoutes(app: Hono, deps: { config: Config; admission: Admission; tenants: TenantService; parse<T>(c: Context, schema: z.ZodType<T>): Promise<T> }): void {
  const { config, admission, tenants } = deps;
  const tickets = new Map<string, Ticket>();
  const settle = (id: string) => {
    const ticket = tickets.get(id);
    if (!ticket) return;
    tickets.delete(id);
    clearTimeout(ticket.expiry);
    ticket.release();
    ticket.endStream?.();
  };

  app.post("/v1/admission", async (c) => {
    const input = await deps.parse(c, admitBody);
    const tenant = await tenants.find(input.tenant);
    if (!tenant) throw new AppError("not_found", `tenant ${input.tenant} does not exist`);
    const result = await admission.admit({ tenant, method: input.method, tool: input.tool, scopes: input.scopes, ...(input.args_valid === null ? {} : { argsValid: input.args_valid }) });
    if (!result.ok) return c.json({ ok: false, denied: result } satisfies AdmissionAnswer);
    const id = crypto.randomUUID();
    const stream = result.endStream !== undefined;
    // A stream holds its stream slot, not a concurrency slot (as on HTTP and stdio alike).
    if (stream) result.release();
    const ttl = stream ? streamTicketMs : Math.max(result.plan.request_timeout_ms, config.server.request_timeout_ms) + 10_000;
    const expiry = setTimeout(() => settle(id), ttl);
    expiry.unref?.();
    tickets.set(id, { release: stream ? () => undefined : result.release, endStream: result.endStream, expiry });
    return c.json({ ok: true, ticket: id, plan: result.plan, headers: result.headers, stream } satisfies AdmissionAnswer);
  });

  app.post("/v1/admission/release", async (c) => {
    const input = await deps.parse(c, releaseBody);
    settle(input.ticket);
    return c.json({ ok: true });
  });

  // CPU time a stdio session's store calls used, charged to this server's budget (the one admission checks).
  app.post("/v1/admission/cpu", async (c) => {
    const input = await deps.parse(c, cpuBody);
    admission.chargeCpu(input.tenant, input.cpu_ms);
    return c.json({ ok: true });
  });

  app.post("/v1/admission/charge", async (c) => {
    const input = await deps.parse(c, chargeBody);
    return c.json({ denied: await admission.chargeRefusal(input.tenant, input.method, input.tool) });
  });
}
