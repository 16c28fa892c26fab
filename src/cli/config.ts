/** `mcp-mt config check|example`. */
import { stringify } from "smol-toml";
import { renderExample } from "../config/example.ts";
import { redactSecrets, redactUrl } from "../config/redact.ts";
import { configFrom } from "./context.ts";
import type { Handler } from "./spec.ts";

export const configCheck: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const jwt = loaded.config.auth.jwt;
  const jwtMode = jwt.secret ? "HS256 secret from MCP_MT_AUTH_JWT_SECRET" : jwt.secret_file ? `HS256 secret from ${jwt.secret_file}` : jwt.jwks_url ? `JWKS ${redactUrl(jwt.jwks_url)}` : jwt.jwks_file ? `JWKS file ${jwt.jwks_file}` : "off (API keys only)";
  const encryption = loaded.secrets.masterKey
    ? "on (master key from MCP_MT_ENCRYPTION_MASTER_KEY); new tenants are encrypted"
    : loaded.config.encryption.master_key_file
      ? `on (master key from ${loaded.config.encryption.master_key_file}); new tenants are encrypted`
      : "off (no master key configured): tenant files are plaintext";
  // Never print a secret: the effective config shows that one is set, not what it is, and URLs lose their
  // credentials (a Redis URL's password, a token in a query string).
  const shown = redactSecrets(loaded.config);
  const source = loaded.source.kind === "file" ? `${loaded.source.path} (from ${loaded.source.via === "flag" ? "--config" : loaded.source.via === "env" ? "MCP_MT_CONFIG" : "the working directory"})` : "built-in defaults (no config file)";
  const pepper = loaded.secrets.pepper ? "from MCP_MT_AUTH_PEPPER" : loaded.config.auth.pepper_file ? `from ${loaded.config.auth.pepper_file}` : `${loaded.config.data.dir}/pepper (generated on first start)`;
  const human = [
    `Configuration is valid.`,
    `Source: ${source}`,
    loaded.envOverrides.length ? `Environment overrides: ${loaded.envOverrides.join(", ")}` : "Environment overrides: none",
    `Key-hash pepper: ${pepper}`,
    `JWT bearer tokens: ${jwtMode}`,
    `Encryption at rest: ${encryption}`,
    "",
    stringify(shown),
  ].join("\n");
  ctx.out.result(human, { valid: true, source: loaded.source, env_overrides: loaded.envOverrides, secrets: { pepper, jwt: jwtMode, encryption }, config: shown });
};

export const configExample: Handler = async (ctx) => {
  ctx.out.result(renderExample(), { example: renderExample() });
};
