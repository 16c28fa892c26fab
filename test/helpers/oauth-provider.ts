/** An in-memory OAuthClientProvider for the SDK v2 client, as a desktop app would implement it (tokens kept in memory). */
import type { OAuthClientMetadata, OAuthClientProvider } from "@modelcontextprotocol/client";

export class MemoryOAuthProvider implements OAuthClientProvider {
  client: any;
  savedTokens: any;
  verifier = "";
  /** The last authorization URL the SDK asked the user's browser to open. */
  authorizationUrl: URL | null = null;
  clientMetadataUrl?: string;

  constructor(
    readonly redirect: string,
    readonly name = "SDK v2 e2e client",
    options: { clientMetadataUrl?: string; scope?: string } = {},
  ) {
    this.clientMetadataUrl = options.clientMetadataUrl;
    this.scope = options.scope;
  }

  readonly scope: string | undefined;

  get redirectUrl() {
    return this.redirect;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.name, redirect_uris: [this.redirect], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none", ...(this.scope ? { scope: this.scope } : {}) } as OAuthClientMetadata;
  }

  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: any) {
    this.client = info;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens: any) {
    this.savedTokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  discovery: any;
  saveDiscoveryState(state: any) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}
