/**
 * Compiles src/main.ts into one executable, dist/mcp-mt: libsql's native module embedded, .env/bunfig
 * autoload off, version and git revision injected, migrations embedded (src/store/migrations.gen.ts).
 * Ends by running `<binary> --version`.  Usage: bun scripts/build.ts [--target bun-linux-arm64] [--outfile PATH]
 */
import type { BunPlugin } from "bun";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const root = join(import.meta.dir, "..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { target: { type: "string" }, outfile: { type: "string" } },
});

/** Bun compile target → libsql's prebuilt package (libsql's package.json "neon.targets"). */
const libsqlPackages: Record<string, string> = {
  "linux-x64": "@libsql/linux-x64-gnu",
  "linux-x64-musl": "@libsql/linux-x64-musl",
  "linux-arm64": "@libsql/linux-arm64-gnu",
  "linux-arm64-musl": "@libsql/linux-arm64-musl",
  "darwin-x64": "@libsql/darwin-x64",
  "darwin-arm64": "@libsql/darwin-arm64",
  "windows-x64": "@libsql/win32-x64-msvc",
};

function platformOf(target: string | undefined): string {
  if (!target) return `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  const [os, arch, ...rest] = target.replace(/^bun-/, "").split("-").filter((p) => p !== "baseline" && p !== "modern" && p !== "glibc");
  return [os, arch === "aarch64" ? "arm64" : arch, ...rest].join("-");
}

const platform = platformOf(values.target);
const nativePackage = libsqlPackages[platform];
if (!nativePackage) throw new Error(`no libsql native package for ${platform}`);
try {
  require.resolve(`${nativePackage}/index.node`, { paths: [root] });
} catch {
  throw new Error(`${nativePackage} is not installed: bun install --os=<os> --cpu=<cpu> installs other platforms' packages`);
}

// libsql loads its addon with require(`@libsql/${target}`), which the bundler cannot follow, so the binary
// would miss it (https://github.com/oven-sh/bun/issues/18909): make it a static require of the target's package.
const dynamicRequire = "require(`@libsql/${target}`)";
const libsqlNative: BunPlugin = {
  name: "libsql-static-native",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/](index|promise)\.js$/ }, async ({ path }) => {
      const source = await Bun.file(path).text();
      if (!source.includes(dynamicRequire)) throw new Error(`libsql changed: ${dynamicRequire} not found in ${path}`);
      return { contents: source.replace(dynamicRequire, `require(${JSON.stringify(`${nativePackage}/index.node`)})`), loader: "js" };
    });
  },
};

// ink imports the optional peer react-devtools-core (used only with DEV=true); it is not installed.
const stubDevtools: BunPlugin = {
  name: "stub-react-devtools-core",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default { initialize() {}, connectToDevTools() {} };", loader: "js" }));
  },
};

await Bun.$`bun ${join(root, "scripts/gen-migrations.ts")}`;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
const git = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
const gitRevision = git.exitCode === 0 ? git.stdout.toString().trim() : "unknown";
const outfile = values.outfile ?? join(root, "dist", platform.startsWith("windows") ? "mcp-mt.exe" : "mcp-mt");

const result = await Bun.build({
  // The store worker is a second entrypoint: the binary carries it, and new Worker() finds it by its path
  // under src/ (src/tenancy/registry.ts, workerEntry).
  entrypoints: [join(root, "src/main.ts"), join(root, "src/store/libsql/worker.ts")],
  compile: {
    ...(values.target ? { target: values.target as Bun.Build.CompileTarget } : {}),
    outfile,
    // A server must not pick up .env or bunfig.toml from whatever directory it starts in.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  format: "esm",
  minify: true,
  bytecode: true,
  sourcemap: "linked",
  define: {
    MCP_MT_VERSION: JSON.stringify(pkg.version),
    MCP_MT_REVISION: JSON.stringify(gitRevision),
    "process.env.NODE_ENV": JSON.stringify("production"),
  },
  plugins: [libsqlNative, stubDevtools],
  throw: false,
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile} (${(statSync(outfile).size / 1024 / 1024).toFixed(1)} MiB, ${platform}, ${pkg.version} ${gitRevision})`);
if (platform === platformOf(undefined)) {
  const smoke = Bun.spawnSync([outfile, "--version"], { stdout: "pipe", stderr: "pipe" });
  if (smoke.exitCode !== 0) {
    console.error(`smoke test failed: ${outfile} --version exited ${smoke.exitCode}\n${smoke.stderr}`);
    process.exit(1);
  }
  process.stdout.write(smoke.stdout);
}
