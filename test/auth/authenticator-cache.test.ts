/**
 * The authenticator's one-second cache on a fake monotonic clock (no sleeps): a revocation or suspension
 * applies once the cache's second has passed, and a wall-clock step neither extends nor shortens it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Authenticator } from "../../src/auth/authenticate.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createServices, type Services } from "../../src/services.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const by = { actor: "operator:test" };
let services: Services;
let wall = Date.UTC(2026, 10, 1);
let mono = 5_000;

beforeAll(async () => {
  const dir = tempDir();
  services = await createServices(loadConfig({ env: {}, cwd: dir, dataDir: dir }), { clock: () => wall });
});
afterAll(async () => {
  await services?.close();
  cleanupTempDirs();
});

const refusal = (promise: Promise<unknown>) => promise.then(() => null, (error: Error) => error.message);

describe("authenticator cache expiry (fake clocks)", () => {
  const rows: { name: string; fault(tenant: string, keyId: string): Promise<unknown>; message: string }[] = [
    { name: "key revoked", fault: (_t, keyId) => services.keys.revoke(keyId, by), message: "is revoked" },
    { name: "tenant suspended", fault: (tenant) => services.tenants.suspend(tenant, by), message: "is suspended" },
  ];
  rows.forEach((row, i) => {
    test(`${row.name}: still served from the cache within the second, refused once it passes`, async () => {
      const { key } = await services.tenants.add({ id: `cache-${i}` }, by);
      const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: () => wall, monotonic: () => mono });
      expect((await authenticator.authenticate(key.api_key)).tenant.id).toBe(`cache-${i}`);
      await row.fault(`cache-${i}`, key.id);
      // The revocation is in the control plane, but the verified result is reused for up to a second.
      mono += 999;
      expect((await authenticator.authenticate(key.api_key)).tenant.id).toBe(`cache-${i}`);
      mono += 2;
      expect(await refusal(authenticator.authenticate(key.api_key))).toContain(row.message);
    });
  });

  test("a wall-clock step back does not keep a revoked key cached, a step forward does not drop the cache early", async () => {
    const { key } = await services.tenants.add({ id: "cache-step" }, by);
    const authenticator = new Authenticator({ keys: services.keys, tenants: services.tenants, clock: () => wall, monotonic: () => mono });
    await authenticator.authenticate(key.api_key);
    // 150 s back (a cache on the wall clock would now hold the result for 151 s), then revoked.
    wall -= 150_000;
    await services.keys.revoke(key.id, by);
    mono += 500;
    expect((await authenticator.authenticate(key.api_key)).tenant.id).toBe("cache-step");
    mono += 501;
    expect(await refusal(authenticator.authenticate(key.api_key))).toContain("is revoked");
    // An hour forward: a fresh result is still cached for its second.
    const { key: other } = await services.tenants.add({ id: "cache-step-2" }, by);
    await authenticator.authenticate(other.api_key);
    await services.keys.revoke(other.id, by);
    wall += 3_600_000;
    expect((await authenticator.authenticate(other.api_key)).tenant.id).toBe("cache-step-2");
  });
});
