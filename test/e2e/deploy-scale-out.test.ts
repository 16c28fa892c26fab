/**
 * The scale-out deployment files checked against the product: deploy/kubernetes/scale-out (stateless pods,
 * rolling updates, probes, the HPA and the Prometheus adapter rule behind its custom metric) and
 * deploy/compose (three instances, nginx, PostgreSQL, Redis). Manifests parse and wire together, the pods'
 * and containers' effective configurations pass `mcp-mt config check`, the metric the autoscaler uses is one
 * the binary serves, and the PostgreSQL init script runs against a real PostgreSQL.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { binaryInEmptyDir, cleanEnv, root } from "../helpers/binary.ts";
import { configCheck, envOf, read, runtimeStage, yamlDocs } from "../helpers/deploy-files.ts";
import { pgBinDir, pgServer } from "../helpers/postgres.ts";
import { startServe } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** Connections one instance opens at most (PG.md): pool_max + database_pools_max × database_pool_max. */
const ceiling = (s: { pool_max: number; database_pools_max: number; database_pool_max: number }) => s.pool_max + s.database_pools_max * s.database_pool_max;
/** The binary's defaults of the [storage] keys. */
const storageDefaults = () => configCheck().json.config.storage;

// ---- Kubernetes scale-out -----------------------------------------------------------------------------------

describe("Kubernetes scale-out manifests", () => {
  const dir = "deploy/kubernetes/scale-out";
  const only = (file: string, kind: string) => {
    const docs = yamlDocs(`${dir}/${file}`);
    expect(docs.map((d) => d.kind)).toEqual([kind]);
    return docs[0]!;
  };
  const deployment = () => only("deployment.yaml", "Deployment");
  const container = () => deployment().spec.template.spec.containers[0];
  const portOf = (p: number | string) => (typeof p === "number" ? p : container().ports.find((x: any) => x.name === p)?.containerPort);
  const secret = () => only("secret.example.yaml", "Secret");
  const configToml = () => parseToml(only("configmap.yaml", "ConfigMap").data["mcp-mt.toml"]) as any;

  test("every file parses with its kind; the kustomization lists the cluster objects, not the Secret or the CRD/Helm extras", () => {
    expect(deployment().apiVersion).toBe("apps/v1");
    expect(only("service.yaml", "Service").apiVersion).toBe("v1");
    expect(only("configmap.yaml", "ConfigMap").apiVersion).toBe("v1");
    expect(secret().apiVersion).toBe("v1");
    expect(only("hpa.yaml", "HorizontalPodAutoscaler").apiVersion).toBe("autoscaling/v2");
    expect(only("pdb.yaml", "PodDisruptionBudget").apiVersion).toBe("policy/v1");
    expect(only("servicemonitor.yaml", "ServiceMonitor").apiVersion).toBe("monitoring.coreos.com/v1");
    const kustomization = only("kustomization.yaml", "Kustomization");
    for (const file of kustomization.resources) expect(existsSync(join(root, dir, file))).toBe(true);
    expect(kustomization.resources.toSorted()).toEqual(["configmap.yaml", "deployment.yaml", "hpa.yaml", "pdb.yaml", "service.yaml"]);
  });

  test("Deployment: 3 replicas, RollingUpdate (maxUnavailable 0, maxSurge 1), /health and /ready on 8787, resources, no PVC, the Secret", () => {
    const d = deployment();
    const pod = d.spec.template.spec;
    const c = container();
    expect(pod.containers.length).toBe(1);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);

    for (const probe of [c.startupProbe, c.livenessProbe]) {
      expect(probe.httpGet.path).toBe("/health");
      expect(portOf(probe.httpGet.port)).toBe(8787);
    }
    expect(c.readinessProbe.httpGet.path).toBe("/ready");
    expect(portOf(c.readinessProbe.httpGet.port)).toBe(8787);

    for (const kind of ["requests", "limits"]) {
      expect(c.resources[kind].cpu).toBeDefined();
      expect(c.resources[kind].memory).toBeDefined();
    }
    // Stateless: no volume outlives the pod.
    expect(pod.volumes.filter((v: any) => v.persistentVolumeClaim)).toEqual([]);
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name);
    for (const mount of c.volumeMounts) expect(volume(mount.name).emptyDir ?? volume(mount.name).configMap).toBeDefined();
    expect(existsSync(join(root, dir, "pvc.yaml"))).toBe(false);

    expect(c.envFrom.map((e: any) => e.secretRef?.name)).toEqual([secret().metadata.name]);
    expect(secret().metadata.name).toBe("mcp-mt-secrets");
    expect(Object.keys(secret().stringData)).toEqual(
      expect.arrayContaining(["MCP_MT_STORAGE_URL", "MCP_MT_LIMITS_REDIS_URL", "MCP_MT_AUTH_PEPPER", "MCP_MT_ENCRYPTION_MASTER_KEY", "MCP_MT_METRICS_TOKEN"]),
    );
    // Applying the example as it is installs no well-known secret.
    expect(Object.values(secret().stringData).every((v) => v === "")).toBe(true);

    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const tmpdir = c.env.find((e: any) => e.name === "TMPDIR").value;
    expect(volume(c.volumeMounts.find((m: any) => m.mountPath === tmpdir).name).emptyDir).toBeDefined();
    // The preStop pause and the drain both fit in the grace period.
    const preStop = Number(c.lifecycle.preStop.exec.command.at(-1));
    expect(preStop * 1000 + configToml().server.shutdown_timeout_ms).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
  });

  test("metrics: listen on 0.0.0.0:9464 in the pod, the port named in the container, the Service, the annotations and the ServiceMonitor", () => {
    const listen = configToml().metrics.listen as string;
    expect(listen).toBe("0.0.0.0:9464");
    const port = Number(listen.split(":")[1]);
    expect(portOf("metrics")).toBe(port);
    const annotations = deployment().spec.template.metadata.annotations;
    expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": "/metrics" });
    const service = only("service.yaml", "Service");
    expect(service.spec.selector).toEqual(deployment().spec.template.metadata.labels);
    expect(service.spec.ports.map((p: any) => [p.name, p.port, portOf(p.targetPort)])).toEqual([
      ["http", 8787, 8787],
      ["metrics", port, port],
    ]);
    const monitor = only("servicemonitor.yaml", "ServiceMonitor");
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    expect(monitor.spec.endpoints.map((e: any) => [e.port, e.path])).toEqual([["metrics", "/metrics"]]);
    const credentials = monitor.spec.endpoints[0].authorization.credentials;
    expect(credentials.name).toBe(secret().metadata.name);
    expect(Object.keys(secret().stringData)).toContain(credentials.key);
  });

  test("HPA: autoscaling/v2 on the Deployment, 3 to N, CPU 70 % and Pods mcp_requests_per_second 100; PDB on the same pods", () => {
    const hpa = only("hpa.yaml", "HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment().metadata.name });
    expect(hpa.spec.minReplicas).toBe(deployment().spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toEqual([
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
      { type: "Pods", pods: { metric: { name: "mcp_requests_per_second" }, target: { type: "AverageValue", averageValue: "100" } } },
    ]);
    const pdb = only("pdb.yaml", "PodDisruptionBudget");
    expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.template.metadata.labels);
  });

  test("the adapter rule turns the counter the binary really serves into mcp_requests_per_second, a per-pod rate", async () => {
    const [values] = yamlDocs(`${dir}/prometheus-adapter-values.yaml`);
    const [rule] = values.rules.custom;
    expect(values.rules.custom.length).toBe(1);
    const counter = /^(\w+)\{/.exec(rule.seriesQuery)![1]!;
    expect(rule.name).toEqual({ matches: `^${counter}$`, as: "mcp_requests_per_second" });
    expect(rule.resources.overrides).toEqual({ namespace: { resource: "namespace" }, pod: { resource: "pod" } });
    expect(rule.metricsQuery).toBe("sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)");

    // The binary's /metrics: the counter exists, is a counter, and counts MCP requests.
    const { dir: cwd, bin } = binaryInEmptyDir();
    const server = await startServe(bin, cwd, [], { MCP_MT_METRICS_TOKEN: "metrics-token-for-the-deploy-test" });
    try {
      await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
      const text = await (await fetch(`${server.origin}/metrics`, { headers: { authorization: "Bearer metrics-token-for-the-deploy-test" } })).text();
      expect(text).toContain(`# TYPE ${counter} counter`);
      expect(text).toMatch(new RegExp(`^${counter}\\{[^}]*\\} 1$`, "m"));
    } finally {
      await server.stop();
    }
  });

  test("the pod's effective configuration (image ENV + env + ConfigMap + Secret) passes config check; the connection ceiling fits", () => {
    const pod = deployment().spec.template.spec;
    const c = container();
    const configMap = only("configmap.yaml", "ConfigMap");
    const env: Record<string, string> = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    const mount = c.volumeMounts.find((m: any) => pod.volumes.find((v: any) => v.name === m.name)?.configMap?.name === configMap.metadata.name);
    expect(env.MCP_MT_CONFIG).toBe(`${mount.mountPath}/mcp-mt.toml`);

    const text = configMap.data["mcp-mt.toml"] as string;
    const tomlPath = join(tempDir("mcp-mt-scale-pod-"), "mcp-mt.toml");
    writeFileSync(tomlPath, text);
    const imageEnv = envOf(runtimeStage());
    delete imageEnv.TMPDIR;
    delete env.TMPDIR;
    const { run, json } = configCheck({ ...imageEnv, ...env, ...secret().stringData, MCP_MT_CONFIG: tomlPath });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(json.config.server).toMatchObject({ host: "0.0.0.0", port: 8787, trust_proxy: true });
    expect(json.config.metrics.listen).toBe("0.0.0.0:9464");
    expect(json.config.data.dir).toBe(c.volumeMounts.find((m: any) => m.name === "data").mountPath);
    expect(json.config.storage).toMatchObject(configToml().storage);
    // The PostgreSQL URL carries a password: only ever from the Secret, never in the ConfigMap.
    expect(configToml().storage.url).toBeUndefined();
    expect(text).not.toContain("postgres://");

    // maxReplicas × each pod's ceiling stays under the max_connections the ConfigMap is sized for.
    const maxConnections = Number(/max_connections = (\d+)/.exec(text)![1]);
    const hpa = only("hpa.yaml", "HorizontalPodAutoscaler");
    const perPod = ceiling({ ...storageDefaults(), ...configToml().storage });
    expect(text).toContain(`= ${perPod}`);
    expect(hpa.spec.maxReplicas * perPod).toBeLessThan(maxConnections);
  });
});

// ---- docker compose ----------------------------------------------------------------------------------------

describe("docker compose recipe", () => {
  const compose = () => yamlDocs("deploy/compose/compose.yaml")[0];
  const instances = () => Object.entries(compose().services as Record<string, any>).filter(([name]) => name.startsWith("mcp-mt-"));
  /** `${NAME:-default}` replaced by its default, as compose does with NAME unset. */
  const interpolate = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
  /** KEY=value lines of an env file (comments and empty values dropped: an empty variable counts as unset). */
  const envFile = (path: string) => Object.fromEntries(read(path).split("\n").filter((l) => /^[A-Z_]+=./.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  const keysOf = (path: string) => read(path).split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.slice(0, l.indexOf("=")));

  test("services: three mcp-mt instances from the Dockerfile, nginx, PostgreSQL 15 and Redis, each with a health check", () => {
    const c = compose();
    expect(c.version).toBeUndefined(); // compose v2: no version key
    expect(Object.keys(c.services).toSorted()).toEqual(["mcp-mt-1", "mcp-mt-2", "mcp-mt-3", "nginx", "postgres", "redis"]);
    for (const service of Object.values(c.services) as any[]) expect(service.healthcheck.test.length).toBeGreaterThan(0);
    expect(c.services.postgres.image).toMatch(/^postgres:15/);
    expect(c.services.redis.image).toMatch(/^redis:/);
    for (const [, service] of instances()) {
      expect(existsSync(join(root, "deploy/compose", service.build.context, service.build.dockerfile))).toBe(true);
      expect(service.build.dockerfile).toBe("deploy/docker/Dockerfile");
      expect(service.healthcheck.test.join(" ")).toContain("/ready");
      expect(service.depends_on).toMatchObject({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
      // Secrets from env files whose examples ship alongside.
      for (const file of service.env_file) expect(existsSync(join(root, "deploy/compose", `${file}.example`))).toBe(true);
      expect(service.environment.MCP_MT_LIMITS_REDIS_URL).toBe("redis://redis:6379");
      // The PostgreSQL URL carries a password: only in the env file.
      expect(service.environment.MCP_MT_STORAGE_URL).toBeUndefined();
    }
    expect(keysOf("deploy/compose/mcp-mt.env.example")).toEqual(["MCP_MT_STORAGE_URL", "MCP_MT_AUTH_PEPPER", "MCP_MT_ENCRYPTION_MASTER_KEY", "MCP_MT_METRICS_TOKEN"]);
    expect(keysOf("deploy/compose/postgres.env.example")).toEqual(["POSTGRES_PASSWORD", "MCP_APP_DB_PASSWORD"]);
  });

  test("nginx round-robins exactly the three instances on the port they listen on, with the shipped config mounted", () => {
    const nginx = compose().services.nginx;
    expect(nginx.volumes).toContain("./nginx.conf:/etc/nginx/conf.d/default.conf:ro");
    const upstream = /upstream\s+mcp_mt\s*\{([^}]*)\}/.exec(read("deploy/compose/nginx.conf"))![1]!;
    const servers = [...upstream.matchAll(/^\s*server\s+(\S+?)(?::(\d+))?\s/gm)].map((m) => `${m[1]}:${m[2]}`);
    const port = envOf(runtimeStage()).MCP_MT_SERVER_PORT ?? "8787";
    expect(servers).toEqual(instances().map(([name]) => `${name}:${port}`));
    for (const [name] of instances()) expect(nginx.depends_on[name]).toEqual({ condition: "service_healthy" });
    expect(read("deploy/compose/nginx.conf")).toMatch(/proxy_buffering off;[\s\S]*proxy_read_timeout 1h;/);
  });

  test("each instance's effective configuration (image ENV + compose environment + env file) passes config check", () => {
    for (const [name, service] of instances()) {
      const environment = Object.fromEntries(Object.entries(service.environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
      const fromFile = Object.assign({}, ...service.env_file.map((f: string) => envFile(`deploy/compose/${f}.example`)));
      const env = { ...envOf(runtimeStage()), ...fromFile, ...environment };
      delete env.TMPDIR;
      const { run, json } = configCheck(env);
      expect([name, run.stderr]).toEqual([name, ""]);
      expect(json.config.server).toMatchObject({ host: "0.0.0.0", trust_proxy: true, public_url: "http://localhost:8080" });
      expect(json.config.server.shutdown_timeout_ms).toBeLessThan(Number(/^(\d+)s$/.exec(service.stop_grace_period)![1]) * 1000);
      expect(json.config.limits.redis_url).toBe("redis://redis:6379");
    }
  });

  test("the instances' health check command, run here against a live server, succeeds exactly when /ready answers 200", async () => {
    const [, service] = instances()[0]!;
    expect(service.healthcheck.test[0]).toBe("CMD-SHELL");
    const { dir: cwd, bin } = binaryInEmptyDir();
    const server = await startServe(bin, cwd);
    try {
      const ready = (await fetch(`${server.origin}/ready`)).status === 200;
      const command = (service.healthcheck.test[1] as string).replaceAll("/usr/local/bin/mcp-mt", bin).replace("127.0.0.1:8787", `127.0.0.1:${server.port}`);
      const result = Bun.spawnSync(["/bin/sh", "-c", command], { cwd, env: cleanEnv() });
      expect(result.exitCode === 0).toBe(ready);
    } finally {
      await server.stop();
    }
    // And it fails when nothing listens.
    const down = (service.healthcheck.test[1] as string).replaceAll("/usr/local/bin/mcp-mt", bin).replace("127.0.0.1:8787", `127.0.0.1:${server.port}`);
    expect(Bun.spawnSync(["/bin/sh", "-c", down], { env: cleanEnv() }).exitCode).toBe(1);
  });

  test("PostgreSQL's max_connections holds the three instances' connection ceiling, with room for the tools", () => {
    const command: string[] = compose().services.postgres.command;
    const maxConnections = Number(command.find((a) => a.startsWith("max_connections="))!.split("=")[1]);
    const perInstance = ceiling(storageDefaults());
    expect(instances().length * perInstance + 10).toBeLessThan(maxConnections);
    expect(read("deploy/compose/README.md")).toContain(`= **${perInstance}**`);
  });

  test.skipIf(pgBinDir() === null)("postgres-init.sh, run against a real PostgreSQL, creates a login role that is not superuser and owns its database", () => {
    const pg = pgServer();
    const script = join(root, "deploy/compose/postgres-init.sh");
    const password = "init-script-password-for-tests";
    const result = Bun.spawnSync(["sh", script], { env: cleanEnv({ PGHOST: "127.0.0.1", PGPORT: String(pg.port), POSTGRES_USER: "postgres", POSTGRES_DB: "postgres", MCP_APP_DB_PASSWORD: password }) });
    expect(result.stderr.toString()).toBe("");
    expect(result.exitCode).toBe(0);
    try {
      expect(pg.psql("select rolcanlogin, rolcreatedb, rolcreaterole, rolsuper, rolbypassrls from pg_roles where rolname = 'mcp_mt'").trim()).toBe("t|t|t|f|f");
      expect(pg.psql("select pg_get_userbyid(datdba) from pg_database where datname = 'mcp_mt'").trim()).toBe("mcp_mt");
      expect(pg.psql("select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = 'mcp_mt'").trim()).toBe("t");
      // Without the password variable the script refuses to run, naming it.
      const missing = Bun.spawnSync(["sh", script], { env: cleanEnv({ PGHOST: "127.0.0.1", PGPORT: String(pg.port) }) });
      expect(missing.exitCode).not.toBe(0);
      expect(missing.stderr.toString()).toContain("MCP_APP_DB_PASSWORD");
    } finally {
      pg.psql("DROP DATABASE IF EXISTS mcp_mt");
      pg.psql("DROP ROLE IF EXISTS mcp_mt");
    }
  });
});
