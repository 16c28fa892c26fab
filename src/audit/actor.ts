/** Who acts, as the audit log records it: passed with each mutating call, never baked into a service. */
import { userInfo } from "node:os";

/** The actor of one call (e.g. operator:alice, server, oauth:member:m_1). */
export type Acting = { actor: string };

/** The operator running a CLI command, for the audit log. */
export function operatorActor(): string {
  try {
    return `operator:${userInfo().username}`;
  } catch {
    return "operator";
  }
}

/** The server acting on its own (scheduled backups, refresh-token reuse). */
export const serverActor: Acting = { actor: "server" };
