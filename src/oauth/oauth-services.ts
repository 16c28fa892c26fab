/** The OAuth services that live in the control plane (members, clients, grants), for the CLI as well as the server. */
import type { AuditLog } from "../audit/audit-log.ts";
import type { Config } from "../config/schema.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { ClientMetadataDocuments } from "./client-metadata-document.ts";
import { ClientService } from "./clients.ts";
import { GrantService } from "./grants.ts";
import { MemberService } from "./members.ts";
import { durationsOf } from "./settings.ts";

export type OAuthServices = { members: MemberService; clients: ClientService; grants: GrantService };

export function oauthServices({ config, control, clock, audit }: { config: Config; control: ControlDatabase; clock: () => number; audit: AuditLog }): OAuthServices {
  const o = config.auth.oauth;
  const durations = durationsOf(config);
  const documents = o.cimd ? new ClientMetadataDocuments({ allowPrivate: o.cimd_allow_private, maxBytes: o.cimd_max_bytes, timeoutMs: o.cimd_timeout_ms, cacheMs: o.cimd_cache_seconds * 1000 }) : null;
  return {
    members: new MemberService({ control, clock, audit }),
    clients: new ClientService({ control, clock, documents, unusedMs: durations.unusedClientMs, maxUnused: o.dcr_max_unused }),
    grants: new GrantService({ control, clock, audit, refreshMs: durations.refreshMs }),
  };
}
