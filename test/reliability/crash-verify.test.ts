/**
 * The short crash-and-verify run (the long one is bench/crash-verify.ts, numbers in bench/RESULTS.md): kill -9
 * rounds on the compiled binary during concurrent writes over HTTP; afterwards every acknowledged document is
 * served and in its file, and every tenant file passes PRAGMA integrity_check.
 */
import { describe, expect, test } from "bun:test";
import { crashVerify } from "../../bench/crash-verify.ts";
import { ensureBinary } from "../helpers/binary.ts";

describe("crash and verify (kill -9 during writes)", () => {
  test("5 rounds at the default synchronous setting: nothing acknowledged is lost, every file intact", async () => {
    const report = await crashVerify({ rounds: 5, tenants: 2, writers: 8, minMs: 150, maxMs: 500, binary: ensureBinary() });
    expect(report.problems).toEqual([]);
    expect(report.rounds).toBe(5);
    // the rounds really wrote: a run with nothing acknowledged would prove nothing
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(report.lost).toBe(0);
    expect(report.damaged).toBe(0);
    // every tenant file checked after each restart and after the final graceful stop
    expect(report.integrityChecks).toBe(2 * 6 + 2);
    expect(report.servedChecks).toBe(report.acknowledged);
    expect(report.unexpectedErrors).toBe(0);
  }, 120_000);
});
