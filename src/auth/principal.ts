/** Who is calling: the same shape whether the credential was an API key or (later) a JWT. */
import type { Scope } from "./scopes.ts";

export type Principal = {
  tenantId: string;
  /** API key id, or a token subject. */
  subject: string;
  kind: "api_key" | "jwt" | "operator";
  scopes: Scope[];
};
