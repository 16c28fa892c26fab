/**
 * Wall-clock steps against the compiled binary, with libfaketime (Debian package libfaketime, installed by
 * scripts/ensure-test-tools.ts): the server's wall clock is moved through a timestamp file while its monotonic
 * clock keeps real time, as an NTP step or `date -s` does. A step must neither refill a tenant's window
 * (burst) nor freeze it (lock-out), and usage keeps being written.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Glob } from "bun";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const libfaketime = [...new Glob("/usr/lib/*/faketime/libfaketime.so.1").scanSync({ onlyFiles: true })][0];

let dir: string;
let bin: string;
let offsetFile: string;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

/** Moves the server's wall clock to `seconds` away from the real time (relative to real time, not cumulative). */
function setWallOffset(seconds: number): void {
  writeFileSync(offsetFile, `${seconds >= 0 ? "+" : ""}${seconds}\n`);
}

async function startFaked(configToml: string): Promise<ServerProcess> {
  const config = join(dir, `clock-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(config, configToml);
  setWallOffset(0);
  return startServe(bin, dir, ["--config", config], {
    LD_PRELOAD: libfaketime!,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    // Re-read the offset file at most once a second (every clock read would cost a file read).
    FAKETIME_CACHE_DURATION: "1",
    // Only the wall clock steps; the monotonic clock keeps real time, as with a real NTP step.
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
  });
}

function call(server: ServerProcess, key: string, id: number | string = 1) {
  const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: { limit: 1 } }, id);
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

/** Waits until the server's own wall clock (its Date header) shows the step, so we know it took effect. */
async function waitForServerClock(server: ServerProcess, offsetSeconds: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${server.origin}/healthz`);
    const skew = (Date.parse(response.headers.get("date")!) - Date.now()) / 1000;
    if (Math.abs(skew - offsetSeconds) < 10) return;
    await Bun.sleep(100);
  }
  throw new Error(`the server's clock never showed a ${offsetSeconds} s step: is libfaketime working?`);
}

beforeAll(() => {
  if (!libfaketime) throw new Error("libfaketime is not installed (apt-get install faketime; scripts/ensure-test-tools.ts does it)");
  ({ dir, bin } = binaryInEmptyDir());
  offsetFile = join(dir, "faketime-offset");
});
afterAll(cleanupTempDirs);

describe("wall clock stepped 1 h forward", () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    key = mt("tenant", "add", "forward", "--json").json().api_key;
    mt("tenant", "set-limit", "forward", "--rate-limit", "5");
    server = await startFaked("");
  });
  afterAll(async () => server?.stop());

  test("a tenant that spent its window stays refused: the step does not refill it", async () => {
    const spent = await Promise.all(Array.from({ length: 5 }, (_, i) => call(server, key, i)));
    expect(spent.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await call(server, key)).status).toBe(429);
    setWallOffset(3600);
    await waitForServerClock(server, 3600);
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => call(server, key, `a${i}`)));
    expect(after.map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
    expect(Number(after[0]!.headers.get("retry-after"))).toBeLessThanOrEqual(60);
  });
});

describe("wall clock stepped 150 s back", () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    key = mt("tenant", "add", "backward", "--json").json().api_key;
    mt("tenant", "set-limit", "backward", "--rate-limit", "5");
    // A short window, so that "admitted again after one real window" is seconds, not a minute.
    server = await startFaked("[limits]\nwindow_ms = 3000\n");
  });
  afterAll(async () => server?.stop());

  test("a tenant is admitted again one real window later, not 150 s later", async () => {
    const spent = await Promise.all(Array.from({ length: 5 }, (_, i) => call(server, key, i)));
    expect(spent.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    setWallOffset(-150);
    await waitForServerClock(server, -150);
    const refused = await call(server, key);
    let retryAfter = 0;
    if (refused.status === 429) retryAfter = Number(refused.headers.get("retry-after"));
    // Whatever is left of the 3 s window, never the 150 s of the step.
    expect(retryAfter).toBeLessThanOrEqual(3);
    await Bun.sleep(retryAfter * 1000 + 100);
    const again = await Promise.all(Array.from({ length: 5 }, (_, i) => call(server, key, `b${i}`)));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // Usage keeps being written by the running server after the step (its flush interval is monotonic).
    let billed = 0;
    for (let i = 0; i < 50 && billed < 10; i++) {
      billed = mt("usage", "--tenant", "backward", "--format", "json").json().tenants[0]?.tool_calls ?? 0;
      if (billed < 10) await Bun.sleep(200);
    }
    expect(billed).toBe(10);
  });
});
