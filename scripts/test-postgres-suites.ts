/**
 * Part of `bun run test`: the end-to-end suites that exercise tenant storage run again against each
 * PostgreSQL isolation strategy (MCP_MT_TEST_STORAGE=row|schema|database makes binaryInEmptyDir point the
 * binary at a fresh database of a throwaway PostgreSQL), with the same expectations as on libSQL. The suites
 * about the control plane and the HTTP limits (keys, audit, rate limits, metering) meet the same code whatever
 * the tenant's strategy, so they run once, under `row` (per-strategy quotas are in the in-process contract
 * tests, test/store/tenant-store-contract.test.ts).
 * One strategy at a time (each `bun test` starts its own PostgreSQL); fails if any run fails.
 * Usage: bun scripts/test-postgres-suites.ts [row|schema|database ...]
 */
const tenantSuites = ["test/e2e/mcp-clients.test.ts", "test/e2e/isolation.test.ts", "test/e2e/search.test.ts", "test/e2e/bad-input.test.ts"];
const controlSuites = ["test/e2e/keys-audit.test.ts", "test/e2e/limits.test.ts"];

const runs: { storage: string; files: string[] }[] = [
  { storage: "row", files: [...tenantSuites, ...controlSuites] },
  { storage: "schema", files: tenantSuites },
  { storage: "database", files: tenantSuites },
];

const chosen = process.argv.slice(2);
const unknown = chosen.filter((s) => !runs.some((r) => r.storage === s));
if (unknown.length) {
  console.error(`unknown storage ${unknown.join(", ")}: choose among ${runs.map((r) => r.storage).join(", ")}`);
  process.exit(2);
}

const failed: string[] = [];
for (const { storage, files } of runs.filter((r) => chosen.length === 0 || chosen.includes(r.storage))) {
  console.error(`\n== e2e suites on PostgreSQL, ${storage} isolation ==`);
  const started = performance.now();
  const result = Bun.spawnSync(["bun", "test", "--timeout", "60000", ...files], {
    cwd: `${import.meta.dir}/..`,
    env: { ...process.env, MCP_MT_TEST_STORAGE: storage },
    stdout: "inherit",
    stderr: "inherit",
  });
  console.error(`== ${storage}: ${result.exitCode === 0 ? "passed" : `FAILED (exit ${result.exitCode})`} in ${((performance.now() - started) / 1000).toFixed(1)} s ==`);
  if (result.exitCode !== 0) failed.push(storage);
}
if (failed.length) {
  console.error(`\nPostgreSQL suites failed for: ${failed.join(", ")}`);
  process.exit(1);
}
