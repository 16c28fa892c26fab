/**
 * Client ID Metadata Documents: a client_id that is an https URL names a JSON document describing the client.
 * Fetched with a size limit and a timeout, cached, never followed to a private or loopback address unless
 * auth.oauth.cimd_allow_private (the host is resolved first and every address checked).
 */
import { monotonicNow, type MonotonicClock } from "../limits/monotonic-clock.ts";
import { lookup } from "node:dns/promises";
import { AppError } from "../errors.ts";
import { isPrivateAddress } from "./private-address.ts";
import { assertRegistrableRedirect } from "./redirect-uri.ts";

export type ResolvedClient = { id: string; name: string; redirectUris: string[]; source: "dynamic" | "operator" | "metadata-document"; host: string | null };

export type DocumentOptions = { allowPrivate: boolean; maxBytes: number; timeoutMs: number; cacheMs: number };

export const isUrlClientId = (id: string) => id.startsWith("https://") || id.startsWith("http://");

const refuse = (message: string) => new AppError("invalid_input", `client metadata document: ${message}`);

export class ClientMetadataDocuments {
  readonly #options: DocumentOptions;
  readonly #now: MonotonicClock;
  readonly #cache = new Map<string, { client: ResolvedClient; until: number }>();

  constructor(options: DocumentOptions, now: MonotonicClock = monotonicNow) {
    this.#now = now;
    this.#options = options;
  }

  async resolve(id: string): Promise<ResolvedClient> {
    const hit = this.#cache.get(id);
    if (hit && hit.until > this.#now()) return hit.client;
    const client = await this.#fetch(id);
    if (this.#cache.size > 1_000) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(id, { client, until: this.#now() + this.#options.cacheMs });
    return client;
  }

  async #fetch(id: string): Promise<ResolvedClient> {
    let url: URL;
    try {
      url = new URL(id);
    } catch {
      throw refuse("client_id is not a URL");
    }
    if (url.protocol !== "https:" && !(this.#options.allowPrivate && url.protocol === "http:")) throw refuse("client_id must be an https URL");
    if (url.hash || url.username || url.password || url.pathname === "/") throw refuse("client_id URL must have a path and no fragment or credentials");
    await this.#assertPublicHost(url.hostname);
    const body = await this.#download(url);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body) as Record<string, unknown>;
    } catch {
      throw refuse("not JSON");
    }
    if (doc.client_id !== id) throw refuse("its client_id does not equal the URL it was fetched from");
    const redirects = doc.redirect_uris;
    if (!Array.isArray(redirects) || redirects.length === 0 || !redirects.every((r) => typeof r === "string")) throw refuse("redirect_uris must be a non-empty list of URLs");
    for (const uri of redirects) assertRegistrableRedirect(uri);
    const method = doc.token_endpoint_auth_method ?? "none";
    if (method !== "none") throw refuse(`token_endpoint_auth_method ${JSON.stringify(method)} is not supported (only none)`);
    const name = typeof doc.client_name === "string" && doc.client_name.trim() ? doc.client_name.trim().slice(0, 100) : url.hostname;
    return { id, name, redirectUris: redirects as string[], source: "metadata-document", host: url.hostname };
  }

  async #assertPublicHost(hostname: string): Promise<void> {
    if (this.#options.allowPrivate) return;
    let addresses: { address: string }[];
    try {
      addresses = await lookup(hostname.replace(/^\[|\]$/g, ""), { all: true });
    } catch {
      throw refuse(`cannot resolve ${hostname}`);
    }
    // DNS could answer differently at connect time; the check still closes the plain "point it at 127.0.0.1" attack.
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) throw refuse(`${hostname} resolves to a private or loopback address, which is refused`);
  }

  async #download(url: URL): Promise<string> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    try {
      const response = await fetch(url, { redirect: "error", signal: controller.signal, headers: { accept: "application/json" } });
      if (!response.ok) throw refuse(`fetching it answered HTTP ${response.status}`);
      const declared = Number(response.headers.get("content-length") ?? "0");
      if (declared > this.#options.maxBytes) throw refuse(`larger than ${this.#options.maxBytes} bytes`);
      const reader = response.body?.getReader();
      if (!reader) return "";
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > this.#options.maxBytes) {
          void reader.cancel();
          throw refuse(`larger than ${this.#options.maxBytes} bytes`);
        }
        chunks.push(value);
      }
      return new TextDecoder().decode(Buffer.concat(chunks));
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (controller.signal.aborted) throw refuse(`no answer within ${this.#options.timeoutMs} ms`);
      throw refuse("could not be fetched");
    } finally {
      clearTimeout(timer);
    }
  }
}
