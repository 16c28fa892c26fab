/** URLs derived from the config: where clients reach the MCP endpoint. */
import type { Config } from "./schema.ts";

/** The server's public base URL, without a trailing slash. */
export function publicBaseUrl(config: Config, port = config.server.port): string {
  if (config.server.public_url) return config.server.public_url.replace(/\/+$/, "");
  const host = config.server.host;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${config.server.tls.cert ? "https" : "http"}://${shown}:${port}`;
}

export const mcpEndpoint = (config: Config, port?: number) => `${publicBaseUrl(config, port)}/mcp`;
