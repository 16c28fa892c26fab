/** The scopes a credential can carry. */
import { invalidInput } from "../errors.ts";

export const allScopes = ["documents:read", "documents:write", "usage:read"] as const;
export type Scope = (typeof allScopes)[number];

/** What a key gets when no scopes are asked for. */
export const defaultScopes: Scope[] = ["documents:read", "documents:write", "usage:read"];

/** Parses a comma- or space-separated scope list, refusing unknown names. */
export function parseScopes(text: string): Scope[] {
  const names = text.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0) throw invalidInput(`no scopes given; known scopes: ${allScopes.join(", ")}`);
  for (const name of names) {
    if (!(allScopes as readonly string[]).includes(name)) {
      throw invalidInput(`unknown scope ${JSON.stringify(name)}; known scopes: ${allScopes.join(", ")}`);
    }
  }
  return [...new Set(names)] as Scope[];
}
