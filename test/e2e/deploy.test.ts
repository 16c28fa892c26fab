/**
 * The deployment files (deploy/, .github/workflows/, .dockerignore) checked against the product they deploy:
 * manifests parse and wire together, every MCP_MT_* variable they name is one the compiled binary accepts,
 * their configurations pass `mcp-mt config check`, and the Dockerfile's build commands, environment and
 * HEALTHCHECK work when run here without Docker. Tools that may be missing (systemd-analyze, caddy) add
 * checks when installed and are reported as skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse as parseToml } from "smol-toml";
import { cleanEnv, ensureBinary, root } from "../helpers/binary.ts";
import { buildStage, configCheck, dockerfile, envOf, read, runBin, runtimeStage, yamlDocs, type Stage } from "../helpers/deploy-files.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let bin: string;
beforeAll(() => {
  bin = ensureBinary();
});
afterAll(cleanupTempDirs);

// ---- Dockerfile ------------------------------------------------------------------------------------------

const one = (stage: Stage, op: string) => {
  const found = stage.instructions.filter((i) => i.op === op);
  expect(found.map((i) => i.op)).toEqual([op]);
  return found[0]!.args;
};

describe("Dockerfile", () => {
  test("build stage: oven/bun at package.json's Bun version, frozen install, scripts/build.ts writing dist/mcp-mt", () => {
    const pkg = JSON.parse(read("package.json"));
    const stages = dockerfile();
    expect(stages.length).toBe(2);
    const build = stages[0]!;
    expect(build.from).toBe(`oven/bun:${pkg.engines.bun}`);
    const runs = build.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs.some((r) => r.includes("bun install --frozen-lockfile"))).toBe(true);
    const buildRun = runs.find((r) => r.includes("bun scripts/build.ts"));
    expect(buildRun).toBeDefined();
    expect(buildRun).toContain("--outfile dist/mcp-mt");
    // scripts/build.ts's default output is the same path.
    expect(read("scripts/build.ts")).toContain('join(root, "dist", platform.startsWith("windows") ? "mcp-mt.exe" : "mcp-mt")');
    const workdir = one(build, "WORKDIR");
    const copy = stages[1]!.instructions.find((i) => i.op === "COPY" && i.args.includes(`--from=${build.name}`));
    expect(copy?.args).toMatch(new RegExp(`\\s${workdir}/dist/mcp-mt\\s+/usr/local/bin/mcp-mt$`));
  });

  test("runtime stage: glibc base, non-root USER, VOLUME = data dir, EXPOSE 8787, HEALTHCHECK, the binary as entrypoint", () => {
    const stage = runtimeStage();
    expect(stage.from).toMatch(/^(debian:12-slim|gcr\.io\/distroless\/cc)/);
    const user = one(stage, "USER");
    expect(user.split(":")[0]).not.toMatch(/^(root|0)$/);
    expect(user).toMatch(/^\d+(:\d+)?$/); // numeric: Kubernetes' runAsNonRoot can verify it
    const env = envOf(stage);
    expect(env.MCP_MT_SERVER_HOST).toBe("0.0.0.0");
    expect(one(stage, "VOLUME")).toBe(env.MCP_MT_DATA_DIR!);
    expect(one(stage, "EXPOSE")).toBe("8787");
    expect(env.TMPDIR).toBeDefined();
    expect(one(stage, "HEALTHCHECK")).toMatch(/CMD .*\/healthz/);
    expect(JSON.parse(one(stage, "ENTRYPOINT"))).toEqual(["/usr/local/bin/mcp-mt"]);
    expect(JSON.parse(one(stage, "CMD"))).toEqual(["serve"]);
  });

  test("the image's environment and HEALTHCHECK, run here: serves on 0.0.0.0, unpacks SQLite into TMPDIR, healthy until SIGTERM", async () => {
    const stage = runtimeStage();
    const env = envOf(stage);
    const dir = tempDir("mcp-mt-image-");
    mkdirSync(join(dir, "tmp"));
    const imageEnv = { ...env, MCP_MT_DATA_DIR: join(dir, "data"), TMPDIR: join(dir, "tmp") };
    const proc = Bun.spawn([bin, "serve", "--port", "0"], { cwd: dir, env: cleanEnv(imageEnv), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      const deadline = Date.now() + 10_000;
      while (!/listening on (\S+)/.test(out) && Date.now() < deadline) {
        const { done, value } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      const url = /listening on (\S+)/.exec(out)?.[1];
      expect(url).toBeDefined();
      const port = Number(new URL(url!).port);
      // The SQLite engine was written to TMPDIR, not /tmp.
      expect(readdirSync(join(dir, "tmp")).some((f) => f.endsWith(".node"))).toBe(true);

      const healthcheck = one(stage, "HEALTHCHECK").replace(/^.*?CMD\s+/, "").replaceAll("/usr/local/bin/mcp-mt", bin);
      const check = () => Bun.spawnSync(["/bin/sh", "-c", healthcheck], { cwd: dir, env: cleanEnv({ ...imageEnv, MCP_MT_SERVER_PORT: String(port) }) }).exitCode;
      expect(check()).toBe(0);

      // Probes as the kubelet sends them (Host: <pod IP>:<port>) pass the Host check; a foreign name does not.
      const probe = (path: string, host: string) => fetch(`http://127.0.0.1:${port}${path}`, { headers: { host } }).then((r) => r.status);
      expect(await probe("/healthz", `10.244.1.7:${port}`)).toBe(200);
      expect(await probe("/readyz", `10.244.1.7:${port}`)).toBe(200);
      expect(await probe("/readyz", "rebind.attacker.example")).toBe(403);

      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(check()).not.toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("the build stage's RUN commands, in a build context filtered by .dockerignore, produce a working dist/mcp-mt", () => {
    const ignore = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const heavy of ["node_modules/", "dist/", ".git/", "data/"]) expect(ignore).toContain(heavy);
    const ignored = (name: string) => ignore.some((p) => new Bun.Glob(p.replace(/\/$/, "")).match(name));
    const context = join(tempDir("mcp-mt-docker-context-"), "src");
    mkdirSync(context);
    for (const entry of readdirSync(root)) if (!ignored(entry)) cpSync(join(root, entry), join(context, entry), { recursive: true });
    for (const needed of ["package.json", "bun.lock", "bunfig.toml", "tsconfig.json", "src", "scripts", "drizzle"]) {
      expect(existsSync(join(context, needed))).toBe(true);
    }
    const build = buildStage();
    // COPY package.json bun.lock bunfig.toml ./  (then COPY . .): the first COPY's sources must be in the context.
    const firstCopy = build.instructions.find((i) => i.op === "COPY")!.args.split(/\s+/).slice(0, -1);
    for (const file of firstCopy) expect(existsSync(join(context, file))).toBe(true);

    const targetArch = process.arch === "arm64" ? "arm64" : "amd64";
    for (const { args, line } of build.instructions.filter((i) => i.op === "RUN")) {
      const result = Bun.spawnSync(["/bin/sh", "-c", args], { cwd: context, env: { ...cleanEnv(), TARGETARCH: targetArch }, stdout: "pipe", stderr: "pipe" });
      if (result.exitCode !== 0) throw new Error(`Dockerfile line ${line} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
    }
    const built = join(context, "dist", "mcp-mt");
    const version = Bun.spawnSync([built, "--version"], { env: cleanEnv() });
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString()).toMatch(/^mcp-mt \d+\.\d+\.\d+/);
  }, 60_000);
});

// ---- systemd ---------------------------------------------------------------------------------------------

/** A unit file as section → key → values (keys may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const unit: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      unit[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`unit line does not parse: ${line}`);
    const key = line.slice(0, eq).trim();
    (unit[section]![key] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

/** systemd time span ("30s", "1min 30s", "90") in milliseconds. */
function timeSpanMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)\s*([a-z]*)/g)) total += Number(n) * (units[unit || "s"] ?? NaN);
  return total;
}

describe("systemd unit", () => {
  const unitText = () => read("deploy/systemd/mcp-mt.service");
  const service = () => parseUnit(unitText()).Service!;
  const value = (key: string) => service()[key]?.at(-1);

  test("runs `mcp-mt serve` as the dedicated user with reload, restart, limits and secrets as specified", () => {
    const s = service();
    expect(value("User")).toBe("mcp-mt");
    expect(value("WorkingDirectory")).toBe("/var/lib/mcp-mt");
    expect(value("ExecStart")).toBe("/usr/local/bin/mcp-mt serve --config /etc/mcp-mt/mcp-mt.toml");
    expect(value("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(value("Restart")).toBe("on-failure");
    expect(value("LimitNOFILE")).toBe("65536");
    expect(s.EnvironmentFile).toEqual(["-/etc/mcp-mt/env"]);
    expect(value("NoNewPrivileges")).toBe("true");
    expect(value("ProtectSystem")).toBe("strict");
    expect(value("ProtectHome")).toBe("true");
    // The JIT and bun:ffi need W+X memory.
    expect(s.MemoryDenyWriteExecute).toBeUndefined();
    expect(parseUnit(unitText()).Install?.WantedBy).toEqual(["multi-user.target"]);
  });

  test("its configuration passes config check; data, backups and TMPDIR are writable paths; stop timeout exceeds the drain", () => {
    const { run, json } = configCheck({}, ["--config", join(root, "deploy/systemd/mcp-mt.toml")]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const config = json.config;
    const writable = [
      ...(value("StateDirectory") ?? "").split(/\s+/).filter(Boolean).map((d) => `/var/lib/${d}`),
      ...(service().ReadWritePaths ?? []).flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^-/, "")),
    ];
    const isWritable = (path: string) => writable.some((w) => path === w || path.startsWith(`${w}/`));
    expect(isWritable(config.data.dir)).toBe(true);
    expect(isWritable(config.backups.dir)).toBe(true);
    const tmpdir = (service().Environment ?? []).map((e) => /^"?TMPDIR=([^"\s]+)/.exec(e)?.[1]).find(Boolean);
    expect(tmpdir).toBeDefined();
    expect(isWritable(tmpdir!)).toBe(true);
    expect(timeSpanMs(value("TimeoutStopSec")!)).toBeGreaterThan(config.server.shutdown_timeout_ms);
    // Behind Caddy on the same host.
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.server.port).toBe(8787);
    expect(config.server.trust_proxy).toBe(true);
    expect(config.server.public_url).toMatch(/^https:\/\//);
  });

  test("`systemctl reload` (SIGHUP) without server.tls leaves the server running", async () => {
    const dir = tempDir("mcp-mt-hup-");
    const proc = Bun.spawn([bin, "serve", "--port", "0"], { cwd: dir, env: cleanEnv({ TMPDIR: dir }), stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      while (!out.includes("listening on")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`serve exited: ${out}`);
        out += new TextDecoder().decode(value);
      }
      proc.kill("SIGHUP");
      const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(1000).then(() => false)]);
      expect(ended).toBe(false);
      // And should an older binary die of it anyway, the unit brings it back (systemd counts SIGHUP as clean).
      expect(service().RestartForceExitStatus?.join(" ") ?? "").toContain("SIGHUP");
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test.skipIf(!Bun.which("systemd-analyze"))("systemd-analyze verify accepts the unit without a warning (needs systemd-analyze)", () => {
    // verify insists that ExecStart exists: point it at the built binary in a copy.
    const dir = tempDir("mcp-mt-unit-");
    const unit = join(dir, "mcp-mt.service");
    writeFileSync(unit, unitText().replaceAll("/usr/local/bin/mcp-mt", bin));
    const result = Bun.spawnSync(["systemd-analyze", "verify", "--man=no", unit], { env: cleanEnv({ SYSTEMD_LOG_COLOR: "0" }) });
    expect(result.stderr.toString()).toBe("");
    expect(result.exitCode).toBe(0);
  });
});

// ---- Caddy -----------------------------------------------------------------------------------------------

describe("Caddyfile", () => {
  test("proxies the public name to mcp-mt on 127.0.0.1:8787 and says what mcp-mt needs behind it", () => {
    const text = read("deploy/caddy/Caddyfile");
    expect(text).toMatch(/^mcp\.example\.com\s*\{/m);
    expect(text).toMatch(/^\s*reverse_proxy\s+127\.0\.0\.1:8787\b/m);
    expect(text).toContain("public_url");
    expect(text).toContain("trust_proxy = true");
  });

  test.skipIf(!Bun.which("caddy"))("caddy adapts it: one upstream, 127.0.0.1:8787, health-checked on /readyz (needs caddy)", () => {
    const result = Bun.spawnSync(["caddy", "adapt", "--config", join(root, "deploy/caddy/Caddyfile"), "--adapter", "caddyfile"], { env: cleanEnv() });
    expect(result.exitCode).toBe(0);
    const json = result.stdout.toString();
    expect(JSON.parse(json).apps.http.servers).toBeDefined();
    expect(json).toContain('"dial":"127.0.0.1:8787"');
    expect(json).toContain('"uri":"/readyz"');
    expect(json).toContain('"mcp.example.com"');
  });
});

// ---- Kubernetes ------------------------------------------------------------------------------------------

describe("Kubernetes manifests", () => {
  const k8s = (file: string) => yamlDocs(`deploy/kubernetes/${file}`);
  const only = (file: string, kind: string) => {
    const docs = k8s(file);
    expect(docs.map((d) => d.kind)).toEqual([kind]);
    return docs[0]!;
  };

  test("every file parses and has the expected kind", () => {
    expect(only("deployment.yaml", "Deployment").apiVersion).toBe("apps/v1");
    expect(only("service.yaml", "Service").apiVersion).toBe("v1");
    expect(only("pvc.yaml", "PersistentVolumeClaim").apiVersion).toBe("v1");
    expect(only("configmap.yaml", "ConfigMap").apiVersion).toBe("v1");
    expect(only("secret.example.yaml", "Secret").apiVersion).toBe("v1");
    const kustomization = only("kustomization.yaml", "Kustomization");
    for (const file of kustomization.resources) expect(existsSync(join(root, "deploy/kubernetes", file))).toBe(true);
    expect(kustomization.resources).not.toContain("secret.example.yaml");
  });

  test("Deployment: 1 replica, Recreate, probes on /healthz and /readyz at 8787, non-root, resources, PVC at /data, Secret env", () => {
    const deployment = only("deployment.yaml", "Deployment");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(pod.containers.length).toBe(1);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe("Recreate");
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);

    const portOf = (p: number | string) => (typeof p === "number" ? p : container.ports.find((x: any) => x.name === p)?.containerPort);
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(portOf(container.livenessProbe.httpGet.port)).toBe(8787);
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(portOf(container.readinessProbe.httpGet.port)).toBe(8787);

    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(String(pod.securityContext.runAsUser)).toBe(one(runtimeStage(), "USER").split(":")[0]!);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.resources.requests.memory).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();

    const pvc = only("pvc.yaml", "PersistentVolumeClaim");
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name);
    const mountAt = (path: string) => container.volumeMounts.find((m: any) => m.mountPath === path);
    expect(volume(mountAt("/data").name).persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect(pvc.spec.accessModes).toEqual(["ReadWriteOnce"]);

    const secret = only("secret.example.yaml", "Secret");
    expect(container.envFrom.map((e: any) => e.secretRef?.name)).toContain(secret.metadata.name);
    expect(Object.keys(secret.stringData).sort()).toEqual(["MCP_MT_AUTH_PEPPER", "MCP_MT_ENCRYPTION_MASTER_KEY", "MCP_MT_METRICS_TOKEN"]);

    // With a read-only root file system, TMPDIR must be a writable volume (an emptyDir is not noexec).
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const tmpdir = container.env.find((e: any) => e.name === "TMPDIR").value;
    expect(volume(mountAt(tmpdir).name).emptyDir).toBeDefined();

    const service = only("service.yaml", "Service");
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(service.spec.ports.map((p: any) => [p.port, portOf(p.targetPort)])).toEqual([[8787, 8787]]);
  });

  test("the pod's effective configuration (image ENV + Deployment env + ConfigMap TOML) passes config check and matches the manifests", () => {
    const deployment = only("deployment.yaml", "Deployment");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const configMap = only("configmap.yaml", "ConfigMap");
    const configMount = container.volumeMounts.find((m: any) => pod.volumes.find((v: any) => v.name === m.name)?.configMap?.name === configMap.metadata.name);
    const env: Record<string, string> = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
    const [mountedKey] = Object.keys(configMap.data);
    expect(env.MCP_MT_CONFIG).toBe(`${configMount.mountPath}/${mountedKey}`);

    const dir = tempDir("mcp-mt-pod-");
    const tomlPath = join(dir, mountedKey!);
    writeFileSync(tomlPath, configMap.data[mountedKey!]);
    const imageEnv = envOf(runtimeStage());
    delete imageEnv.TMPDIR;
    delete env.TMPDIR;
    const secret = only("secret.example.yaml", "Secret");
    const { run, json } = configCheck({ ...imageEnv, ...env, ...secret.stringData, MCP_MT_CONFIG: tomlPath });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(json.source).toMatchObject({ kind: "file", via: "env" });
    // The example Secret applied as it is installs no well-known secret: its empty values count as unset.
    expect(json.secrets.pepper).toContain("generated on first start");
    expect(json.secrets.encryption).toMatch(/^off/);
    expect(json.config.server.host).toBe("0.0.0.0");
    expect(json.config.server.port).toBe(container.ports[0].containerPort);
    expect(json.config.data.dir).toBe(container.volumeMounts.find((m: any) => m.name === "data").mountPath);
    expect(json.config.server.shutdown_timeout_ms).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
    // The TOML alone is valid too, with the same values the image sets.
    const toml = parseToml(configMap.data[mountedKey!]) as any;
    expect(toml.server.host).toBe(imageEnv.MCP_MT_SERVER_HOST);
    expect(toml.data.dir).toBe(imageEnv.MCP_MT_DATA_DIR);
    const alone = configCheck({}, ["--config", tomlPath]);
    expect(alone.run.code).toBe(0);
  });
});

// ---- GitHub workflows ------------------------------------------------------------------------------------

describe("GitHub workflows", () => {
  const release = () => yamlDocs(".github/workflows/release.yml")[0];
  const steps = (job: any): any[] => job.steps ?? [];
  const runs = (job: any) => steps(job).map((s) => String(s.run ?? "")).join("\n");
  const buildTs = () => read("scripts/build.ts");

  test("release: on v* tags, builds the four targets with scripts/build.ts after installing each target's native package", () => {
    const wf = release();
    expect(wf.on.push.tags).toEqual(["v*"]);
    const build = wf.jobs.build;
    const targets = build.strategy.matrix.include.map((m: any) => m.target).sort();
    expect(targets).toEqual(["darwin-arm64", "linux-arm64", "linux-x64", "windows-x64"]);
    const pkg = JSON.parse(read("package.json"));
    const setupBun = steps(build).find((s) => String(s.uses).startsWith("oven-sh/setup-bun@"));
    expect(String(setupBun.with["bun-version"])).toBe(pkg.engines.bun);
    expect(runs(build)).toContain("bun install --frozen-lockfile\n");
    expect(runs(build)).toContain("bun install --frozen-lockfile --os=${{ matrix.os }} --cpu=${{ matrix.cpu }}");
    expect(runs(build)).toContain("bun scripts/build.ts --target bun-${{ matrix.target }} --outfile");
    expect(runs(build)).toContain("sha256sum");
    // Each (os, cpu) names the platform scripts/build.ts maps to the libsql package it embeds.
    for (const m of build.strategy.matrix.include) {
      const npmOs = m.target.startsWith("windows") ? "win32" : m.target.split("-")[0];
      expect(m.os).toBe(npmOs);
      expect(m.cpu).toBe(m.target.split("-")[1]);
      expect(buildTs()).toContain(`"${m.target}": "@libsql/`);
      expect(m.exe).toBe(m.target.startsWith("windows") ? ".exe" : "");
    }
  });

  test("release: the test suite runs on linux-x64 with its tools, and the release publishes every binary with SHA256SUMS", () => {
    const wf = release();
    const testJob = wf.jobs.test;
    expect(testJob["runs-on"]).toMatch(/^ubuntu-/);
    expect(runs(testJob)).toMatch(/apt-get install .*redis-server openssl tmux/);
    expect(runs(testJob)).toContain("bun run test");
    const publish = wf.jobs.release;
    expect(publish.needs).toEqual(expect.arrayContaining(["build", "test"]));
    expect(publish.permissions.contents).toBe("write");
    expect(runs(publish)).toContain("SHA256SUMS");
    const gh = steps(publish).find((s) => String(s.uses).startsWith("softprops/action-gh-release@"));
    const files = String(gh.with.files).split("\n").map((f) => f.trim()).filter(Boolean);
    for (const target of ["linux-x64", "linux-arm64", "darwin-arm64"]) expect(files).toContain(`assets/mcp-mt-${target}`);
    expect(files).toContain("assets/mcp-mt-windows-x64.exe");
    expect(files).toContain("assets/SHA256SUMS");
  });

  test("ci: bash .ci/run on push and pull request", () => {
    const wf = yamlDocs(".github/workflows/ci.yml")[0];
    expect(wf.on.push).toBeDefined();
    expect(wf.on).toHaveProperty("pull_request");
    const all = Object.values(wf.jobs).map(runs).join("\n");
    expect(all).toContain("bash .ci/run");
    expect(existsSync(join(root, ".ci/run"))).toBe(true);
  });
});

// ---- Environment variables named anywhere in the deployment files -----------------------------------------

/** Not config keys (or secrets that must never be in a file): the binary reads them directly. */
const knownVariables = new Set([
  "MCP_MT_AUTH_PEPPER",
  "MCP_MT_ENCRYPTION_MASTER_KEY",
  "MCP_MT_METRICS_TOKEN",
  "MCP_MT_ADMIN_TOKEN",
  "MCP_MT_API_KEY",
  "MCP_MT_CONFIG",
  "MCP_MT_AUTH_JWT_SECRET",
]);

function deployFiles(): string[] {
  const files: string[] = [".dockerignore"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir))) {
      const path = join(dir, entry);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk("deploy");
  walk(".github/workflows");
  return files;
}

describe("MCP_MT_* variables in the deployment files", () => {
  test("each is a config key override the binary accepts (with the value the files give it) or a known secret/variable", () => {
    const names = new Map<string, Set<string>>();
    const values = new Map<string, Set<string>>();
    const note = (map: Map<string, Set<string>>, key: string, value: string) => (map.get(key) ?? map.set(key, new Set()).get(key)!).add(value);
    for (const file of deployFiles()) {
      const text = read(file);
      for (const [name] of text.matchAll(/\bMCP_MT_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)) note(names, name, file);
      for (const [, name, value] of text.matchAll(/\b(MCP_MT_[A-Z0-9_]+)=("[^"]*"|[^\s"'\\]+)/g)) note(values, name!, value!.replace(/^"(.*)"$/, "$1"));
      if (file.endsWith(".yaml") || file.endsWith(".yml")) {
        const visit = (node: any): void => {
          if (Array.isArray(node)) node.forEach(visit);
          else if (node && typeof node === "object") {
            if (typeof node.name === "string" && node.name.startsWith("MCP_MT_") && typeof node.value === "string") note(values, node.name, node.value);
            Object.values(node).forEach(visit);
          }
        };
        yamlDocs(file).forEach(visit);
      }
    }
    // The files do name variables: Dockerfile ENV, Deployment env, the Secret, the docs.
    for (const expected of ["MCP_MT_SERVER_HOST", "MCP_MT_DATA_DIR", "MCP_MT_CONFIG", "MCP_MT_AUTH_PEPPER"]) expect(names.has(expected)).toBe(true);

    // Defaults, to give a variable without a value in the files one of the right type.
    const defaults = configCheck().json.config;
    const envNames = new Map<string, unknown>();
    const flatten = (node: any, path: string[]) => {
      if (node && typeof node === "object" && !Array.isArray(node)) for (const [k, v] of Object.entries(node)) flatten(v, [...path, k]);
      else envNames.set(`MCP_MT_${path.join("_").toUpperCase().replaceAll("-", "_")}`, node);
    };
    flatten(defaults, []);

    const failures: string[] = [];
    for (const [name, files] of names) {
      if (knownVariables.has(name)) continue;
      const candidates = values.get(name) ?? new Set([Array.isArray(envNames.get(name)) ? (envNames.get(name) as unknown[]).join(",") : String(envNames.get(name))]);
      for (const value of candidates) {
        const { run, json } = configCheck({ [name]: value });
        if (run.code !== 0 || !json?.env_overrides?.includes(name)) failures.push(`${name}=${value} (in ${[...files].join(", ")}): exit ${run.code}: ${run.stderr.trim()}`);
      }
    }
    expect(failures).toEqual([]);

    // The secrets and other non-key variables named in the files are ones the binary itself knows (an
    // unknown MCP_MT_* variable stops it). MCP_MT_AUTH_JWT_SECRET would turn JWT on and needs an issuer.
    const secrets = [...names.keys()].filter((n) => knownVariables.has(n) && n !== "MCP_MT_CONFIG" && n !== "MCP_MT_AUTH_JWT_SECRET");
    const { run } = configCheck(Object.fromEntries(secrets.map((n) => [n, "c2VjcmV0LXZhbHVlLWZvci10aGUtZGVwbG95LXRlc3Q="])));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  test("every deployment file is one this test knows about", () => {
    // A new file under deploy/ should be covered here (or at least scanned for variables above).
    const known = [
      ".dockerignore",
      ".github/workflows/ci.yml",
      ".github/workflows/release.yml",
      "deploy/caddy/Caddyfile",
      "deploy/compose/README.md",
      "deploy/compose/compose.yaml",
      "deploy/compose/mcp-mt.env.example",
      "deploy/compose/nginx.conf",
      "deploy/compose/postgres-init.sh",
      "deploy/compose/postgres.env.example",
      "deploy/docker/Dockerfile",
      "deploy/kubernetes/README.md",
      "deploy/kubernetes/configmap.yaml",
      "deploy/kubernetes/deployment.yaml",
      "deploy/kubernetes/kustomization.yaml",
      "deploy/kubernetes/pvc.yaml",
      "deploy/kubernetes/secret.example.yaml",
      "deploy/kubernetes/service.yaml",
      "deploy/kubernetes/scale-out/configmap.yaml",
      "deploy/kubernetes/scale-out/deployment.yaml",
      "deploy/kubernetes/scale-out/hpa.yaml",
      "deploy/kubernetes/scale-out/kustomization.yaml",
      "deploy/kubernetes/scale-out/pdb.yaml",
      "deploy/kubernetes/scale-out/prometheus-adapter-values.yaml",
      "deploy/kubernetes/scale-out/secret.example.yaml",
      "deploy/kubernetes/scale-out/service.yaml",
      "deploy/kubernetes/scale-out/servicemonitor.yaml",
      "deploy/systemd/README.md",
      "deploy/systemd/mcp-mt.service",
      "deploy/systemd/mcp-mt.toml",
    ];
    expect(deployFiles().map((f) => relative(".", f)).sort()).toEqual(known.sort());
  });
});
