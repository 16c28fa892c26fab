/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against the compiled
 * binary, for each protocol revision mcp-mt serves. The suite sends no credentials, so it talks to a
 * header-injecting proxy (test/helpers/auth-proxy.ts) that adds the tenant's API key and forwards Host and
 * Origin untouched. Every check must pass except those listed, with their reason, in
 * conformance-expected-failures.json (scenarios that drive the suite's own fixture tools, prompts and
 * resources); a listed check that starts passing fails the test too, so the list stays honest.
 *
 * CONFORMANCE_PACKAGE_DIR=/path/to/conformance/package runs another copy of the suite (to try a newer
 * release before bumping the pinned devDependency).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type AuthProxy, startAuthProxy } from "../helpers/auth-proxy.ts";
import { binaryInEmptyDir, cleanEnv, root, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const revisions = ["2026-07-28", "2025-11-25"] as const;
type Revision = (typeof revisions)[number];

type Check = { id: string; status: "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO"; errorMessage?: string | null; details?: unknown };
type Expected = { checks: string[]; reason: string };
type ScenarioResult = { name: string; checks: Check[] | null; scored: boolean; category?: string };
type RevisionRun = { revision: Revision; supported: true; scenarios: ScenarioResult[]; output: string; exitCode: number | null } | { revision: Revision; supported: false; why: string };

const expectedPath = join(import.meta.dir, "conformance-expected-failures.json");
const expectedFile = JSON.parse(readFileSync(expectedPath, "utf8")) as Record<string, Record<string, Expected>>;

/** The installed suite: its package.json "bin" entry, run with bun (its CLI needs Node >= 22 or Bun). */
function conformanceCli() {
  const dir = process.env.CONFORMANCE_PACKAGE_DIR ?? dirname(Bun.resolveSync("@modelcontextprotocol/conformance/package.json", root));
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string; bin: string | Record<string, string> };
  const entry = join(dir, typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance!);
  if (!existsSync(entry)) throw new Error(`conformance CLI entry ${entry} is missing`);
  return { version: pkg.version, entry };
}

const cli = conformanceCli();
const children = new Set<Subprocess>();

async function conformance(args: string[], cwd: string, timeoutMs = 90_000): Promise<{ code: number | null; out: string }> {
  const proc = Bun.spawn([process.execPath, cli.entry, ...args], { cwd, env: cleanEnv({ NO_COLOR: "1" }), stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  children.add(proc);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  children.delete(proc);
  return { code: proc.signalCode ? null : code, out: out + err };
}

/** `  - name [..]` lines of `conformance list`, split by the section they appear in. */
function parseList(text: string): { server: string[]; unscored: Map<string, string> } {
  const server: string[] = [];
  const unscored = new Map<string, string>();
  let section: "server" | "client" | "unscored" | null = null;
  let category = "";
  for (const line of text.split("\n")) {
    if (/^Server scenarios/.test(line)) section = "server";
    else if (/^Client scenarios/.test(line)) section = "client";
    else if (/never scored/.test(line)) section = "unscored";
    const cat = /^\s+([a-z-]+) \(\d+\):$/.exec(line);
    if (cat) category = cat[1]!;
    const item = /^\s+- (\S+)(?: \[(.*)\])?$/.exec(line);
    if (!item) continue;
    if (section === "server") server.push(item[1]!);
    else if (section === "unscored" && item[2] === "server") unscored.set(item[1]!, category);
  }
  return { server, unscored };
}

let dir: string;
let server: ServerProcess | undefined;
let proxy: AuthProxy | undefined;
let knownScenarios: Set<string>;
const runs = new Map<Revision, RevisionRun>();

/** Runs the suite's server scenarios for one revision and reads each scenario's checks.json. */
async function runRevision(revision: Revision, supportsRequirements: boolean): Promise<RevisionRun> {
  const selector = supportsRequirements ? ["--requirements", revision] : ["--spec-version", revision];
  const listed = await conformance(["list", "--server", ...selector], dir);
  const plan = parseList(listed.out);
  if (listed.code !== 0 || plan.server.length === 0) {
    return { revision, supported: false, why: `@modelcontextprotocol/conformance ${cli.version} has no server scenarios for protocol revision ${revision} (\`conformance list --server ${selector.join(" ")}\` said: ${listed.out.trim().split("\n").slice(0, 3).join(" / ")}). 0.2.0-alpha.12 has them: bump the devDependency.` };
  }
  const outDir = tempDir(`mcp-mt-conformance-${revision}-`);
  const result = await conformance(["server", "--url", proxy!.url, ...selector, "--output-dir", outDir], dir);
  // The CLI prints "=== Running scenario: X ===" then "Results saved to <dir>" for each scenario it runs.
  const scenarios: ScenarioResult[] = [];
  let current: ScenarioResult | undefined;
  for (const line of result.out.split("\n")) {
    const started = /^=== Running scenario: (\S+) ===$/.exec(line);
    if (started) {
      const category = plan.unscored.get(started[1]!);
      current = { name: started[1]!, checks: null, scored: category !== "extension", category };
      scenarios.push(current);
    }
    const saved = /^Results saved to (.+)$/.exec(line);
    if (saved && current) {
      const file = join(saved[1]!.trim(), "checks.json");
      current.checks = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Check[]) : null;
    }
  }
  return { revision, supported: true, scenarios, output: result.out, exitCode: result.code };
}

beforeAll(async () => {
  let bin: string;
  ({ dir, bin } = binaryInEmptyDir());
  // Limits are not what the suite tests: an enterprise plan, and no concurrency cap for its parallel runs.
  const tenant = run(bin, ["tenant", "add", "acme", "--plan", "enterprise", "--json"], { cwd: dir });
  if (tenant.code !== 0) throw new Error(`tenant add failed: ${tenant.stderr}`);
  run(bin, ["tenant", "set-limit", "acme", "--max-concurrency", "1000"], { cwd: dir });
  const apiKey = tenant.json<{ api_key: string }>().api_key;
  server = await startServe(bin, dir);

  // One document, so resources/list is not empty and the suite also exercises resources/read (caching hints).
  const seed = modernRequest("tools/call", { name: "create_document", arguments: { title: "Conformance fixture", content: "A document for the MCP conformance suite." } });
  const seeded = await fetch(server.url, { method: "POST", headers: { ...seed.headers, authorization: `Bearer ${apiKey}` }, body: JSON.stringify(seed.body) });
  const seededBody = await seeded.text();
  if (!seeded.ok || seededBody.includes('"error"') || seededBody.includes('"isError":true')) throw new Error(`seeding a document failed: ${seeded.status} ${seededBody}`);

  proxy = startAuthProxy(server.url, apiKey);

  const help = await conformance(["server", "--help"], dir);
  const supportsRequirements = help.out.includes("--requirements");
  knownScenarios = new Set(parseList((await conformance(["list", "--server"], dir)).out).server);
  // Both revisions at once: the suite is light, the server is stateless, and the scenarios share nothing.
  for (const r of await Promise.all(revisions.map((revision) => runRevision(revision, supportsRequirements)))) runs.set(r.revision, r);
  printSummary();
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await proxy?.stop();
  await server?.stop();
  cleanupTempDirs();
});

const failing = (checks: Check[]) => checks.filter((c) => c.status === "FAILURE");
const describeCheck = (c: Check) => `${c.id}: ${c.errorMessage ?? JSON.stringify(c.details ?? {}).slice(0, 300)}`;

function printSummary(): void {
  const lines = [`MCP conformance suite ${cli.version} against mcp-mt (via ${proxy!.url}):`];
  for (const r of runs.values()) {
    if (!r.supported) {
      lines.push(`  ${r.revision}: NOT RUN — ${r.why}`);
      continue;
    }
    lines.push(`  ${r.revision} (${r.scenarios.length} scenarios, CLI exit ${r.exitCode}):`);
    const expected = expectedFile[r.revision] ?? {};
    for (const s of r.scenarios) {
      const failed = s.checks ? failing(s.checks) : [];
      const mark = !s.checks ? "✗ no results" : failed.length === 0 ? "✓" : "✗";
      const note = !s.scored ? ` (${s.category}, not scored)` : expected[s.name] && failed.length > 0 ? " (expected failure)" : "";
      const warnings = (s.checks ?? []).filter((c) => c.status === "WARNING").map((c) => `\n        warning ${describeCheck(c)}`);
      lines.push(`    ${mark} ${s.name}${note}${warnings.join("")}`);
    }
  }
  console.log(lines.join("\n"));
}

function runOf(revision: Revision): Extract<RevisionRun, { supported: true }> {
  const r = runs.get(revision);
  if (!r) throw new Error(`the conformance suite did not run for ${revision}`);
  if (!r.supported) throw new Error(r.why);
  return r;
}

describe(`MCP conformance suite ${cli.version} (server scenarios, through the auth proxy)`, () => {
  test("the expected-failures file is well-formed and names only scenarios the suite has", () => {
    const problems: string[] = [];
    for (const [revision, scenarios] of Object.entries(expectedFile)) {
      if (revision.startsWith("$")) continue;
      if (!revisions.includes(revision as Revision)) problems.push(`${revision}: not a revision this test runs`);
      for (const [name, entry] of Object.entries(scenarios)) {
        if (runs.get(revision as Revision)?.supported && !knownScenarios.has(name)) problems.push(`${revision} ${name}: not a server scenario of @modelcontextprotocol/conformance ${cli.version}`);
        if (!Array.isArray(entry.checks) || entry.checks.length === 0) problems.push(`${revision} ${name}: "checks" must list the failing check ids`);
        if (typeof entry.reason !== "string" || entry.reason.length < 10) problems.push(`${revision} ${name}: every expected failure needs its reason`);
      }
    }
    expect(problems).toEqual([]);
  });

  for (const revision of revisions) {
    describe(`protocol revision ${revision}`, () => {
      test("the suite runs this revision's scenarios to completion", () => {
        const r = runOf(revision);
        expect(r.exitCode === 0 || r.exitCode === 1 ? "finished" : `CLI exit ${r.exitCode}:\n${r.output.slice(-2000)}`).toBe("finished");
        expect(r.scenarios.length).toBeGreaterThan(0);
        expect(r.scenarios.filter((s) => s.checks === null).map((s) => `${s.name} produced no checks.json`)).toEqual([]);
      });

      test("every check passes except the listed expected failures", () => {
        const r = runOf(revision);
        const expected = expectedFile[revision] ?? {};
        const unexpected: string[] = [];
        for (const s of r.scenarios.filter((x) => x.scored && x.checks)) {
          const allowed = new Set(expected[s.name]?.checks ?? []);
          for (const c of failing(s.checks!)) if (!allowed.has(c.id)) unexpected.push(`${s.name} › ${describeCheck(c)}`);
        }
        expect(unexpected).toEqual([]);
      });

      test("every listed expected failure really fails (remove the ones that pass)", () => {
        const r = runOf(revision);
        const expected = expectedFile[revision] ?? {};
        const stale: string[] = [];
        let confirmed = 0;
        for (const [name, entry] of Object.entries(expected)) {
          const s = r.scenarios.find((x) => x.name === name);
          if (!s) continue; // listed for a scenario this suite version does not run at this revision (e.g. a pending one)
          const failed = new Set(failing(s.checks ?? []).map((c) => c.id));
          for (const id of entry.checks) {
            if (failed.has(id)) confirmed++;
            else stale.push(`${name} › ${id} no longer fails: remove it from test/e2e/conformance-expected-failures.json`);
          }
        }
        expect(stale).toEqual([]);
        expect(confirmed).toBeGreaterThan(0);
      });
    });
  }
});
