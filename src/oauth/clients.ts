/** OAuth clients: Dynamic Client Registration (RFC 7591), operator-registered clients, and URL client ids. */
import { and, count, eq, isNull, lt } from "drizzle-orm";
import { AppError, invalidInput, notFound } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { oauthClients, type OAuthClientRow } from "../store/control/schema.ts";
import { ClientMetadataDocuments, isUrlClientId, type ResolvedClient } from "./client-metadata-document.ts";
import { assertRegistrableRedirect } from "./redirect-uri.ts";
import { randomToken } from "./secrets.ts";

export type ClientInfo = { client_id: string; client_name: string; redirect_uris: string[]; source: string; created_at: string; last_used_at: string | null };

const describe = (row: OAuthClientRow): ClientInfo => ({
  client_id: row.id,
  client_name: row.name,
  redirect_uris: row.redirectUris,
  source: row.source,
  created_at: new Date(row.createdAt).toISOString(),
  last_used_at: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
});

export class ClientService {
  readonly #control: ControlDatabase;
  readonly #clock: () => number;
  readonly #documents: ClientMetadataDocuments | null;
  readonly #unusedMs: number;
  readonly #maxUnused: number;

  constructor(options: { control: ControlDatabase; clock: () => number; documents: ClientMetadataDocuments | null; unusedMs: number; maxUnused: number }) {
    this.#control = options.control;
    this.#clock = options.clock;
    this.#documents = options.documents;
    this.#unusedMs = options.unusedMs;
    this.#maxUnused = options.maxUnused;
  }

  /** RFC 7591 registration of a public client; validates the metadata and answers what was registered. */
  async register(metadata: Record<string, unknown>): Promise<Record<string, unknown>> {
    const redirects = metadata.redirect_uris;
    if (!Array.isArray(redirects) || redirects.length === 0 || redirects.length > 10 || !redirects.every((r) => typeof r === "string" && r.length <= 2000)) {
      throw invalidInput("redirect_uris: give 1 to 10 redirect URIs");
    }
    for (const uri of redirects as string[]) assertRegistrableRedirect(uri);
    const grantTypes = (metadata.grant_types as unknown[] | undefined) ?? ["authorization_code", "refresh_token"];
    if (!Array.isArray(grantTypes) || grantTypes.some((g) => g !== "authorization_code" && g !== "refresh_token")) throw invalidInput("grant_types: only authorization_code and refresh_token are supported");
    const responseTypes = (metadata.response_types as unknown[] | undefined) ?? ["code"];
    if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== "code")) throw invalidInput("response_types: only code is supported");
    const name = typeof metadata.client_name === "string" && metadata.client_name.trim() ? metadata.client_name.trim().slice(0, 100) : "Unnamed client";
    await this.sweep();
    const [unused] = await this.#control.db.select({ n: count() }).from(oauthClients).where(and(eq(oauthClients.source, "dynamic"), isNull(oauthClients.lastUsedAt)));
    if ((unused?.n ?? 0) >= this.#maxUnused) throw new AppError("rate_limited", "too many registered clients that were never used; try again later");
    const row = await this.#insert(name, redirects as string[], "dynamic");
    // Public clients only: the answer says so even if the client asked for a secret.
    return {
      client_id: row.id,
      client_id_issued_at: Math.floor(row.createdAt / 1000),
      client_name: row.name,
      redirect_uris: row.redirectUris,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** `mcp-mt oauth client add`: a pre-registered public client that never expires. */
  async add(name: string, redirectUris: string[]): Promise<ClientInfo> {
    if (!name.trim()) throw invalidInput("--name is required");
    if (redirectUris.length === 0) throw invalidInput("give at least one --redirect-uri");
    for (const uri of redirectUris) assertRegistrableRedirect(uri);
    return describe(await this.#insert(name.trim(), redirectUris, "operator"));
  }

  async list(): Promise<ClientInfo[]> {
    return (await this.#control.db.select().from(oauthClients).orderBy(oauthClients.createdAt)).map(describe);
  }

  async remove(id: string): Promise<ClientInfo> {
    const [row] = await this.#control.db.select().from(oauthClients).where(eq(oauthClients.id, id));
    if (!row) throw notFound(`no OAuth client ${id}`);
    await this.#control.db.delete(oauthClients).where(eq(oauthClients.id, id));
    return describe(row);
  }

  /** The client behind a client_id: a stored registration or a metadata document URL. Null when unknown. */
  async resolve(id: string): Promise<ResolvedClient | null> {
    if (isUrlClientId(id)) {
      if (!this.#documents) throw invalidInput("URL client ids (client metadata documents) are turned off on this server (auth.oauth.cimd)");
      return this.#documents.resolve(id);
    }
    const [row] = await this.#control.db.select().from(oauthClients).where(eq(oauthClients.id, id));
    return row ? { id: row.id, name: row.name, redirectUris: row.redirectUris, source: row.source, host: null } : null;
  }

  async markUsed(id: string): Promise<void> {
    if (!isUrlClientId(id)) await this.#control.db.update(oauthClients).set({ lastUsedAt: this.#clock() }).where(eq(oauthClients.id, id));
  }

  /** Deletes dynamic registrations that never completed a sign-in within auth.oauth.unused_client_ttl. */
  async sweep(): Promise<void> {
    const cutoff = this.#clock() - this.#unusedMs;
    await this.#control.db.delete(oauthClients).where(and(eq(oauthClients.source, "dynamic"), isNull(oauthClients.lastUsedAt), lt(oauthClients.createdAt, cutoff)));
  }

  async #insert(name: string, redirectUris: string[], source: "dynamic" | "operator"): Promise<OAuthClientRow> {
    const row: OAuthClientRow = { id: `c_${randomToken(15)}`, name, redirectUris, source, createdAt: this.#clock(), lastUsedAt: null };
    await this.#control.db.insert(oauthClients).values(row);
    return row;
  }
}
