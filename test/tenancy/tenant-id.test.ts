import { describe, expect, test } from "bun:test";
import { assertTenantId, tenantDbPath } from "../../src/tenancy/tenant-id.ts";

describe("tenant ids", () => {
  test.each(["acme", "a", "0", "acme-corp", "a".repeat(63), "team-42"])("%p is valid", (id) => {
    expect(assertTenantId(id)).toBe(id);
    expect(tenantDbPath("/srv/data", id)).toBe(`/srv/data/tenants/${id}.db`);
  });

  test.each([
    ["../x", "is invalid"],
    ["A", "is invalid"],
    ["Acme", "is invalid"],
    ["con", "reserved device name"],
    ["lpt1", "reserved device name"],
    ["", "is empty"],
    ["a".repeat(300), "300 characters long; the limit is 63"],
    ["a".repeat(64), "64 characters long"],
    ["ac\u0000me", "is invalid"],
    ["-acme", "is invalid"],
    ["acme/..", "is invalid"],
    ["acme.db", "is invalid"],
    ["ac me", "is invalid"],
    ["é", "is invalid"],
  ])("%p is refused (%s)", (id, message) => {
    expect(() => assertTenantId(id)).toThrow(message);
    expect(() => tenantDbPath("/srv/data", id)).toThrow(message);
  });

  test("non-strings are refused", () => {
    expect(() => assertTenantId(undefined)).toThrow("empty");
    expect(() => assertTenantId(42)).toThrow("empty");
  });
});
