/** Who is calling: the same shape whether the credential was an API key or (later) a JWT. */
import type { Scope } from "./scopes.ts";

export type Principal = {
  tenantId: string;
  /** API key id, or a token subject. */
  subject: string;
  kind: "api_key" | "jwt" | "oauth" | "operator";
  scopes: Scope[];
};

/** How the audit log names a principal: key:<id>, jwt:<subject>, oauth:<member:id|key:id> or operator. */
export const actorOf = (p: Principal) => (p.kind === "api_key" ? `key:${p.subject}` : p.kind === "jwt" ? `jwt:${p.subject}` : p.kind === "oauth" ? `oauth:${p.subject}` : "operator");
