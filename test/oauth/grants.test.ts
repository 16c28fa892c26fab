/** Grants on a real control plane with an injected clock: rotation, reuse detection, expiry, signer checks, pruning. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { OAuthError } from "../../src/oauth/grants.ts";
import { createServices, type Services } from "../../src/services.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const day = 86_400_000;
let now = Date.UTC(2026, 10, 1);
let runtime: Services;
const by = { actor: "operator:test" };
let services: Services["oauth"];
let memberId: string;

beforeAll(async () => {
  const dir = tempDir();
  runtime = await createServices(loadConfig({ env: {}, cwd: dir, dataDir: dir }), { clock: () => now });
  await runtime.tenants.add({ id: "acme" }, by);
  services = runtime.oauth;
  memberId = (await services.members.add("acme", "g@acme.example", "member", "a long test password", by)).id;
});
afterAll(async () => {
  await runtime?.close();
  cleanupTempDirs();
});

const grant = () => services.grants.create({ tenantId: "acme", subject: `member:${memberId}`, clientId: "c_1", clientName: "App", scopes: ["documents:read"], resource: "http://x/mcp" });
const refusal = (work: Promise<unknown>) => work.then(() => null, (error: unknown) => (error instanceof OAuthError ? error.description : String(error)));

describe("refresh tokens", () => {
  test("each refresh rotates; a replaced token revokes the grant, after which even the newest is refused", async () => {
    const { row, refreshToken: first } = await grant();
    const { refreshToken: second } = await services.grants.refresh(first, "c_1");
    expect(second).not.toBe(first);
    expect(await refusal(services.grants.refresh(first, "c_1"))).toContain("already used");
    expect(await refusal(services.grants.refresh(second, "c_1"))).toContain("revoked");
    expect((await services.grants.get(row.id))!.revoked_reason).toBe("refresh token reused after rotation");
  });

  const rows: [string, (token: string) => string, string][] = [
    ["a made-up secret for a real grant", (t) => `${t.slice(0, t.indexOf(".") + 1)}${"A".repeat(43)}`, "unknown refresh token"],
    ["a malformed token", () => "not-a-token", "malformed"],
  ];
  test.each(rows)("%s is refused without revoking the grant", async (_name, change, message) => {
    const { row, refreshToken } = await grant();
    expect(await refusal(services.grants.refresh(change(refreshToken), "c_1"))).toContain(message);
    expect((await services.grants.get(row.id))!.state).toBe("active");
  });

  test("a grant unused for refresh_token_ttl expires", async () => {
    const { refreshToken } = await grant();
    now += 31 * day;
    expect(await refusal(services.grants.refresh(refreshToken, "c_1"))).toContain("expired");
  });
});

describe("grant checks and pruning", () => {
  test("a grant of another tenant, and one whose member is gone, are refused", async () => {
    const { row } = await grant();
    await expect(services.grants.assertActive(row.id, "other")).rejects.toThrow("unknown grant");
    await services.grants.assertActive(row.id, "acme");
    await services.members.remove("g@acme.example", undefined, by);
    await expect(services.grants.assertActive(row.id, "acme")).rejects.toThrow("revoked");
  });

  test("grants dead for 30 days are deleted; recent ones stay", async () => {
    const before = (await services.grants.list("acme")).length;
    expect(before).toBeGreaterThan(0);
    now += 29 * day;
    expect(await services.grants.prune(30 * day)).toBe(0);
    now += 2 * day;
    expect(await services.grants.prune(30 * day)).toBe(before);
    expect(await services.grants.list("acme")).toEqual([]);
  });
});
