import { describe, expect, test } from "bun:test";
import { generateApiKey, hashApiKey, hashesEqual, parseApiKey } from "../../src/auth/api-key.ts";

describe("API key format", () => {
  test("a generated key has the product prefix, key id, 256-bit secret and a checksum that verifies", () => {
    const { id, key } = generateApiKey();
    expect(key).toMatch(/^mcpmt_[0-9a-z]{12}_[0-9A-Za-z]{49}$/);
    expect(key.slice(6, 18)).toBe(id);
    expect(parseApiKey(key)).toEqual({ id, key });
  });

  test("keys and ids are unique", () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateApiKey().key));
    expect(keys.size).toBe(2000);
  });

  test("a single mistyped character is rejected by the checksum, without a lookup", () => {
    const { key } = generateApiKey();
    for (const position of [6, 20, 40, key.length - 7, key.length - 1]) {
      const c = key[position]!;
      const typo = key.slice(0, position) + (c === "a" ? "b" : "a") + key.slice(position + 1);
      expect(parseApiKey(typo)).toBeNull();
    }
  });

  test.each([["", "empty"], ["mcpmt_", "prefix only"], ["ghp_abcdefghijklmnopqrstuvwxyz0123456789", "another product's token"], ["Bearer mcpmt_x", "with scheme"]])(
    "%p (%s) is not a key",
    (text) => {
      expect(parseApiKey(text)).toBeNull();
    },
  );

  test("the keyed hash depends on the pepper and compares in constant time", () => {
    const { key } = generateApiKey();
    const a = hashApiKey(key, "pepper-one-0123456789");
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key, "pepper-one-0123456789")).toBe(a);
    expect(hashApiKey(key, "pepper-two-0123456789")).not.toBe(a);
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, hashApiKey(key, "pepper-two-0123456789"))).toBe(false);
    expect(hashesEqual(a, "ab")).toBe(false);
  });
});
