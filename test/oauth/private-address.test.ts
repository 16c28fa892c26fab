/** The SSRF guard for client metadata documents: which addresses count as private. */
import { expect, test } from "bun:test";
import { isPrivateAddress } from "../../src/oauth/private-address.ts";

const rows: [string, boolean][] = [
  ["127.0.0.1", true],
  ["127.255.0.9", true],
  ["10.0.0.1", true],
  ["172.16.0.1", true],
  ["172.31.255.255", true],
  ["172.32.0.1", false],
  ["192.168.1.1", true],
  ["169.254.169.254", true],
  ["100.64.0.1", true],
  ["0.0.0.0", true],
  ["224.0.0.1", true],
  ["8.8.8.8", false],
  ["93.184.216.34", false],
  ["::1", true],
  ["::", true],
  ["[::1]", true],
  ["fe80::1", true],
  ["fd00::1", true],
  ["::ffff:127.0.0.1", true],
  ["::ffff:8.8.8.8", false],
  ["2606:4700::1111", false],
  ["not-an-ip", true],
];
test.each(rows)("%s private: %p", (address, expected) => expect(isPrivateAddress(address)).toBe(expected));
