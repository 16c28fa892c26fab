/** Commands that print configuration never print a secret: URL credentials and secret values are redacted. */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const password = "hunter2-s3cret";
const cases: { name: string; env?: Record<string, string>; toml?: string; secret: string; shows: string }[] = [
  { name: "Redis URL password (environment)", env: { MCP_MT_LIMITS_REDIS_URL: `redis://:${password}@127.0.0.1:6379/0` }, secret: password, shows: "redis://REDACTED@127.0.0.1:6379/0" },
  { name: "Redis URL user and password (file)", toml: `[limits]\nredis_url = "rediss://admin:${password}@redis.internal:6380"\n`, secret: password, shows: "rediss://REDACTED@redis.internal:6380" },
  { name: "token in a JWKS URL's query string", toml: `[auth.jwt]\nissuer = "https://idp.example"\njwks_url = "https://idp.example/jwks?token=${password}"\n`, secret: password, shows: "token=REDACTED" },
  { name: "JWT shared secret (environment)", env: { MCP_MT_AUTH_JWT_SECRET: `${password}-0123456789abcdef0123456789` }, toml: `[auth.jwt]\nissuer = "x"\n`, secret: password, shows: "(set, redacted)" },
];

describe("config check redacts secrets", () => {
  test.each(cases)("$name", ({ env, toml, secret, shows }) => {
    const { dir, bin } = binaryInEmptyDir();
    const args = ["config", "check"];
    if (toml) {
      writeFileSync(join(dir, "mcp-mt.toml"), toml);
    }
    for (const extra of [[], ["--json"]]) {
      const result = run(bin, [...args, ...extra], { cwd: dir, env });
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(secret);
      expect(result.stdout).toContain(shows);
    }
  });
});
