import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SlidingWindow } from "../../src/limits/sliding-window.ts";

/** Arrival sequences: non-decreasing times with weights. */
const arrivals = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), weight: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 300 });
const params = fc.record({ limit: fc.integer({ min: 1, max: 20 }), windowMs: fc.integer({ min: 1, max: 2_000 }) });

export let propertyRuns = 0;

describe("SlidingWindow", () => {
  test("property: no window of any position ever admits more than the limit", () => {
    fc.assert(
      fc.property(params, arrivals, ({ limit, windowMs }, seq) => {
        propertyRuns++;
        const window = new SlidingWindow(limit, windowMs);
        const admitted: { t: number; w: number }[] = [];
        let t = 0;
        for (const { gap, weight } of seq) {
          t += gap;
          if (window.consume(t, weight).admitted) admitted.push({ t, w: weight });
        }
        // Every window (s - windowMs, s] ending at an admission time holds at most `limit` units.
        for (const end of admitted) {
          const units = admitted.filter((a) => a.t > end.t - windowMs && a.t <= end.t).reduce((n, a) => n + a.w, 0);
          if (units > limit) return false;
        }
        return true;
      }),
      { numRuns: 1_000 },
    );
  });

  test("property: every denial's retry-after is exact: admitted at that time, denied 1 ms before", () => {
    fc.assert(
      fc.property(params, arrivals, ({ limit, windowMs }, seq) => {
        propertyRuns++;
        const times: number[] = [];
        let t = 0;
        for (const { gap } of seq) times.push((t += gap));
        /** A window with the history of the first `k` arrivals replayed (same decisions as the original). */
        const replay = (k: number) => {
          const copy = new SlidingWindow(limit, windowMs);
          for (let i = 0; i < k; i++) copy.consume(times[i]!, seq[i]!.weight);
          return copy;
        };
        const window = new SlidingWindow(limit, windowMs);
        for (let k = 0; k < seq.length; k++) {
          const decision = window.consume(times[k]!, seq[k]!.weight);
          if (decision.admitted || !Number.isFinite(decision.retryAfterMs)) continue;
          if (!replay(k).consume(times[k]! + decision.retryAfterMs, seq[k]!.weight).admitted) return false;
          if (decision.retryAfterMs >= 1 && replay(k).consume(times[k]! + decision.retryAfterMs - 1, seq[k]!.weight).admitted) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  test("a burst at a window edge cannot double the limit (unlike fixed windows)", () => {
    const window = new SlidingWindow(10, 60_000);
    for (let i = 0; i < 10; i++) expect(window.consume(59_999).admitted).toBe(true);
    // A fixed window would reset at 60 000 and admit 10 more at once.
    const denied = window.consume(60_000);
    expect(denied.admitted).toBe(false);
    expect(denied.retryAfterMs).toBe(59_999);
    expect(window.consume(119_999).admitted).toBe(true);
  });

  test("remaining and weights", () => {
    const window = new SlidingWindow(5, 1_000);
    expect(window.consume(0, 2)).toMatchObject({ admitted: true, remaining: 3 });
    expect(window.consume(10, 0)).toMatchObject({ admitted: true, remaining: 3 });
    expect(window.consume(20, 4)).toMatchObject({ admitted: false, remaining: 3, retryAfterMs: 980 });
    expect(window.consume(20, 3)).toMatchObject({ admitted: true, remaining: 0 });
    expect(window.consume(999, 1).admitted).toBe(false);
    expect(window.consume(1_000, 2)).toMatchObject({ admitted: true, remaining: 0 });
    expect(window.consume(0 + 5_000, 6).retryAfterMs).toBe(Number.POSITIVE_INFINITY);
  });
});
