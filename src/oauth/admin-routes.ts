/** The admin API routes of the OAuth operator actions (see oauth-operator.ts), mounted by src/admin/api.ts. */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { roles } from "./members.ts";
import { localOAuthOperator } from "./oauth-operator.ts";

const member = z.object({ email: z.string(), tenant: z.string().optional() });

export function oauthAdminRoutes(services: Pick<Services, "config" | "clock" | "oauth" | "control">, onChange: () => void): Hono {
  const app = new Hono();
  const operator = (c: Context) => localOAuthOperator(services, c.req.header("x-mcp-mt-actor") || "operator:admin-api", onChange);
  const body = async <T>(c: Context, schema: z.ZodType<T>): Promise<T> => {
    const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) throw new AppError("invalid_input", `invalid request body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
    return parsed.data;
  };

  app.post("/v1/oauth/members", async (c) => {
    const input = await body(c, z.object({ tenant: z.string(), email: z.string(), role: z.enum(roles), password: z.string().optional() }));
    return c.json(await operator(c).addMember(input.tenant, input.email, input.role, input.password), 201);
  });
  app.post("/v1/oauth/members/remove", async (c) => {
    const input = await body(c, member);
    return c.json(await operator(c).removeMember(input.email, input.tenant));
  });
  app.post("/v1/oauth/members/reset", async (c) => {
    const input = await body(c, member.extend({ password: z.string().optional() }));
    return c.json(await operator(c).resetMember(input.email, { tenant: input.tenant, password: input.password }));
  });
  app.post("/v1/oauth/members/link", async (c) => {
    const input = await body(c, member);
    return c.json(await operator(c).linkMember(input.email, input.tenant));
  });
  app.post("/v1/oauth/members/totp", async (c) => {
    const input = await body(c, member.extend({ on: z.boolean() }));
    return c.json(await operator(c).setTotp(input.email, input.tenant, input.on));
  });
  app.post("/v1/oauth/clients", async (c) => {
    const input = await body(c, z.object({ name: z.string(), redirect_uris: z.array(z.string()) }));
    return c.json(await operator(c).addClient(input.name, input.redirect_uris), 201);
  });
  app.delete("/v1/oauth/clients/:id", async (c) => c.json(await operator(c).removeClient(c.req.param("id"))));
  app.post("/v1/grants/:id/revoke", async (c) => c.json(await operator(c).revokeGrant(c.req.param("id"))));
  app.post("/v1/oauth/rotate-keys", async (c) => {
    const input = await body(c, z.object({ grace_ms: z.number().int().min(0) }));
    return c.json(await operator(c).rotateKeys(input.grace_ms));
  });
  return app;
}
