/**
 * The operator's OAuth actions (members, clients, grants, signing keys), one definition used two ways like the
 * Operator of src/admin/operator.ts: on the files when no server runs, or through the running server's admin API
 * (so one process writes the control plane, and a change applies to the server at once).
 */
import type { AdminClient } from "../admin/client.ts";
import { publicBaseUrl } from "../config/urls.ts";
import type { Services } from "../services.ts";
import type { ClientInfo } from "./clients.ts";
import type { GrantInfo } from "./grants.ts";
import type { MemberInfo, Role } from "./members.ts";
import { durationsOf, oauthPaths } from "./settings.ts";
import { keyStoreFor, SigningKeys } from "./signing-keys.ts";

export type MemberOptions = { tenant?: string; password?: string };

export type OAuthOperator = {
  addMember(tenantId: string, email: string, role: Role, password?: string): Promise<MemberInfo & { password: string }>;
  removeMember(email: string, tenant?: string): Promise<MemberInfo>;
  resetMember(email: string, options: MemberOptions): Promise<MemberInfo & { password: string }>;
  linkMember(email: string, tenant?: string): Promise<{ member: MemberInfo; url: string; expires_at: string }>;
  setTotp(email: string, tenant: string | undefined, on: boolean): Promise<{ member: MemberInfo; secret: string | null }>;
  addClient(name: string, redirectUris: string[]): Promise<ClientInfo>;
  removeClient(id: string): Promise<ClientInfo>;
  revokeGrant(id: string): Promise<GrantInfo>;
  rotateKeys(graceMs: number): Promise<{ kid: string; retired: string[] }>;
};

/** The actions on this process's services (the CLI with no server, or the server answering its admin API), done as `actor`. */
export function localOAuthOperator(services: Pick<Services, "config" | "clock" | "oauth" | "control">, actor: string, afterChange: () => void = () => undefined): OAuthOperator {
  const { members, clients, grants } = services.oauth;
  const by = { actor };
  const changed = <T>(work: Promise<T>) => work.finally(afterChange);
  return {
    addMember: (tenantId, email, role, password) => members.add(tenantId, email, role, password, by),
    removeMember: (email, tenant) => changed(members.remove(email, tenant, by)),
    resetMember: (email, options) => changed(members.reset(email, options.tenant, options.password, by)),
    async linkMember(email, tenant) {
      const { member, secret, expires_at } = await members.link(email, tenant, durationsOf(services.config).linkMs, by);
      return { member, expires_at, url: `${publicBaseUrl(services.config)}${oauthPaths.link}?t=${secret}` };
    },
    setTotp: (email, tenant, on) => members.setTotp(email, tenant, on, by),
    addClient: (name, redirectUris) => clients.add(name, redirectUris),
    removeClient: (id) => clients.remove(id),
    revokeGrant: (id) => changed(grants.revoke(id, "revoked by the operator", by)),
    rotateKeys: async (graceMs) => (await new SigningKeys(keyStoreFor(services.control, services.config.data.dir), services.clock).open()).rotate(graceMs),
  };
}

/** The same actions sent to the running server. */
export function remoteOAuthOperator(client: AdminClient): OAuthOperator {
  const enc = encodeURIComponent;
  return {
    addMember: (tenantId, email, role, password) => client.call("POST", "/v1/oauth/members", { tenant: tenantId, email, role, password }),
    removeMember: (email, tenant) => client.call("POST", "/v1/oauth/members/remove", { email, tenant }),
    resetMember: (email, options) => client.call("POST", "/v1/oauth/members/reset", { email, ...options }),
    linkMember: (email, tenant) => client.call("POST", "/v1/oauth/members/link", { email, tenant }),
    setTotp: (email, tenant, on) => client.call("POST", "/v1/oauth/members/totp", { email, tenant, on }),
    addClient: (name, redirectUris) => client.call("POST", "/v1/oauth/clients", { name, redirect_uris: redirectUris }),
    removeClient: (id) => client.call("DELETE", `/v1/oauth/clients/${enc(id)}`),
    revokeGrant: (id) => client.call("POST", `/v1/grants/${enc(id)}/revoke`),
    rotateKeys: (graceMs) => client.call("POST", "/v1/oauth/rotate-keys", { grace_ms: graceMs }),
  };
}
