/**
 * A throwaway nginx load balancer for tests: the Debian package's /usr/sbin/nginx, run in the foreground
 * (`daemon off`) with its own prefix, pid file, logs and temp paths under a temp dir, on a random loopback
 * port, round-robining the given upstream ports. Its server configuration is deploy/compose/nginx.conf, the
 * file the compose recipe ships, with only the upstream `server` lines and the `listen` port replaced.
 * A watchdog stops it when the test process is gone.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { root } from "./binary.ts";

export const nginxBinary = "/usr/sbin/nginx";
export const shippedNginxConf = join(root, "deploy", "compose", "nginx.conf");

export type AccessEntry = { upstreams: string[]; status: number; uri: string };

export type LoadBalancer = {
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The directory holding nginx.conf, mcp-mt.conf, the pid file, logs and temp paths. */
  dir: string;
  /** One entry per request nginx finished: the upstream addresses it tried (the last one answered), status, URI. */
  accessLog(): AccessEntry[];
  errorLog(): string;
  stop(): Promise<void>;
};

/**
 * The shipped server configuration with its upstream servers replaced by `127.0.0.1:<port>` (keeping the
 * first server line's parameters) and its `listen` by `127.0.0.1:<listenPort>`. Throws when the template
 * lost the shape this relies on, so a change to the shipped file cannot silently escape the tests.
 */
export function serverConfig(template: string, upstreamPorts: number[], listenPort: number): string {
  const upstream = /(upstream\s+mcp_mt\s*\{)([^}]*)\}/.exec(template);
  if (!upstream) throw new Error("nginx template: no `upstream mcp_mt { … }` block");
  const servers = [...upstream[2]!.matchAll(/^(\s*)server\s+\S+((?:\s+[^;\s]+)*)\s*;[^\n]*\n/gm)];
  if (servers.length === 0) throw new Error("nginx template: the upstream block has no `server` line");
  const [indent, params] = [servers[0]![1]!, servers[0]![2]!];
  // The new server lines take the place of the first one; the other ones go.
  const lines = upstreamPorts.map((p) => `${indent}server 127.0.0.1:${p}${params};\n`).join("");
  let body = upstream[2]!.replace(servers[0]![0], lines);
  for (const line of servers.slice(1)) body = body.replace(line[0], "");
  const withUpstreams = template.replace(upstream[0], `${upstream[1]}${body}}`);
  const listens = withUpstreams.match(/^\s*listen\s+[^;]+;/gm) ?? [];
  if (listens.length !== 1) throw new Error(`nginx template: expected one \`listen\` line, found ${listens.length}`);
  return withUpstreams.replace(/^(\s*)listen\s+[^;]+;/m, `$1listen 127.0.0.1:${listenPort};`);
}

/** The main configuration around the server file: everything written under `dir`, one worker (deterministic round robin). */
function mainConfig(dir: string, serverFile: string): string {
  const temp = (name: string) => join(dir, "temp", name);
  return `worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} notice;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    log_format upstreams '$upstream_addr|$status|$request_method $request_uri';
    access_log ${join(dir, "access.log")} upstreams;
    client_body_temp_path ${temp("client_body")};
    proxy_temp_path ${temp("proxy")};
    fastcgi_temp_path ${temp("fastcgi")};
    uwsgi_temp_path ${temp("uwsgi")};
    scgi_temp_path ${temp("scgi")};
    include ${serverFile};
}
`;
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function listening(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Starts nginx round-robining `upstreamPorts` (on 127.0.0.1) and waits until it accepts connections. */
export async function startNginx(upstreamPorts: number[], template = readFileSync(shippedNginxConf, "utf8")): Promise<LoadBalancer> {
  if (!existsSync(nginxBinary)) throw new Error("nginx is not installed (the test command installs nginx from the Debian packages)");
  const dir = mkdtempSync(join(tmpdir(), "mcp-mt-nginx-"));
  // Workers drop to an unprivileged user when the test runs as root: they must be able to reach the temp paths.
  chmodSync(dir, 0o711);
  Bun.spawnSync(["mkdir", "-p", join(dir, "temp"), join(dir, "logs")]);
  chmodSync(join(dir, "temp"), 0o711);
  const serverFile = join(dir, "mcp-mt.conf");
  const confFile = join(dir, "nginx.conf");
  writeFileSync(confFile, mainConfig(dir, serverFile));

  let lastError = "";
  // A free port can be taken between the probe and nginx's bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    writeFileSync(serverFile, serverConfig(template, upstreamPorts, port));
    const proc: Subprocess = Bun.spawn([nginxBinary, "-p", dir, "-c", confFile, "-e", join(dir, "error.log"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    // A watchdog outlives this process (bun test does not always run exit handlers): when the test process
    // is gone it stops nginx and deletes its directory.
    Bun.spawn(["sh", "-c", `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 0.5; done; kill -TERM ${proc.pid} 2>/dev/null; sleep 1; rm -rf ${dir}`], { stdio: ["ignore", "ignore", "ignore"] }).unref();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && proc.exitCode === null && !(await listening(port))) await Bun.sleep(25);
    if (proc.exitCode === null && (await listening(port))) {
      const errorLog = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
      return {
        port,
        origin: `http://127.0.0.1:${port}`,
        dir,
        accessLog: () => {
          const path = join(dir, "access.log");
          const lines = existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
          return lines.map((line) => {
            const [upstreams, status, uri] = line.split("|") as [string, string, string];
            // Tried addresses are separated by ", " (and " : " across internal redirects); "-" when none.
            return { upstreams: upstreams === "-" ? [] : upstreams.split(/, | : /), status: Number(status), uri };
          });
        },
        errorLog,
        async stop() {
          // Fast shutdown (SIGTERM), not the graceful SIGQUIT that would wait for open streams.
          proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    proc.kill("SIGKILL");
    await proc.exited;
    lastError = `${await new Response(proc.stderr as ReadableStream).text()}${existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : ""}`;
    if (!/Address already in use/.test(lastError)) break;
  }
  throw new Error(`nginx did not start: ${lastError}`);
}
