/** The SDK v2 client connecting the way an OAuth-only app does: 401 → discovery → registration → browser → code exchange → reconnect. */
import { expect } from "bun:test";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { authorizeInBrowser, PlainBrowser, type SignIn } from "./oauth-browser.ts";
import type { MemoryOAuthProvider } from "./oauth-provider.ts";

export async function connectSdkWithOAuth(url: string, provider: MemoryOAuthProvider, who: SignIn, options: { scopes?: string[]; onConsent?: (html: string) => void; era?: "modern" | "legacy" } = {}): Promise<{ client: Client; callback: URL }> {
  const negotiation = options.era ? { versionNegotiation: { mode: options.era === "modern" ? ({ pin: "2026-07-28" } as const) : ("legacy" as const) } } : {};
  const first = new Client({ name: "oauth-e2e", version: "1.0.0" }, negotiation);
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const refused = await first.connect(transport).then(
    () => null,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(UnauthorizedError);
  expect(provider.authorizationUrl).not.toBeNull();
  const callback = await authorizeInBrowser(new PlainBrowser(), provider.authorizationUrl!.toString(), who, options);
  expect(callback.searchParams.get("error")).toBeNull();
  expect(callback.searchParams.get("state")).toBe(provider.authorizationUrl!.searchParams.get("state"));
  await transport.finishAuth(callback.searchParams);
  const client = new Client({ name: "oauth-e2e", version: "1.0.0" }, negotiation);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  return { client, callback };
}
