/** The per-address connection cap: connections known by their requests, forgotten once closed or idle past the timeout. */
import { expect, test } from "bun:test";
import { ConnectionCap } from "../../src/http/connection-cap.ts";

test("the cap refuses one connection too many, frees a place on close or after the idle timeout, and counts addresses apart", () => {
  let now = 0;
  const cap = new ConnectionCap({ max: 2, idleTimeoutMs: 1_000, clock: () => now });
  expect(cap.enter("a", 1)).toBe(true);
  expect(cap.enter("a", 2)).toBe(true);
  expect(cap.enter("a", 3)).toBe(false);
  expect(cap.enter("b", 3)).toBe(true);
  // a second request on a known connection is not a new connection
  expect(cap.enter("a", 1)).toBe(true);
  cap.leave("a", 1, false);
  cap.leave("a", 1, false);
  // a closing response frees its place at once
  cap.leave("a", 2, true);
  expect(cap.count("a")).toBe(1);
  expect(cap.enter("a", 4)).toBe(true);
  cap.leave("a", 4, false);
  // idle past the timeout (plus the server's timer slack): the server has closed them
  now += 10_000;
  expect(cap.enter("a", 5)).toBe(true);
  expect(cap.enter("a", 6)).toBe(true);
  // a connection with a request in progress is never dropped as idle
  now += 10_000;
  cap.sweep();
  expect(cap.count("a")).toBe(2);
});
