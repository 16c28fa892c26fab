/**
 * Part of `bun run test`: the end-to-end tests drive real programs (redis-server for shared limits,
 * openssl for a test CA, tmux as the admin TUI's terminal, libfaketime to step the server's wall clock, chromium
 * for the OAuth pages in a real browser, PostgreSQL for the PostgreSQL storage backend, nginx as the load balancer in
 * front of several instances). Installs the missing ones from the Debian packages when it can (root,
 * or passwordless sudo); otherwise says exactly what to install.
 */
import { pgBinDir } from "../test/helpers/postgres.ts";

const tools: Record<string, string> = { "redis-server": "redis-server", openssl: "openssl", tmux: "tmux", faketime: "faketime", chromium: "chromium", nginx: "nginx-light", psql: "postgresql-client" };
const missing = Object.entries(tools).filter(([command]) => !Bun.which(command) && !Bun.which(command, { PATH: "/usr/sbin:/sbin" })).map(([, pkg]) => pkg);
if (!pgBinDir()) missing.push("postgresql");
if (missing.length === 0) process.exit(0);

const aptGet = Bun.which("apt-get");
const isRoot = process.getuid?.() === 0;
const sudo = !isRoot && Bun.which("sudo") && Bun.spawnSync(["sudo", "-n", "true"]).exitCode === 0 ? ["sudo", "-n"] : null;
if (!aptGet || (!isRoot && !sudo)) {
  console.error(`The end-to-end tests need: ${missing.join(", ")}. Install them (e.g. apt-get install ${missing.join(" ")}) and run the tests again.`);
  process.exit(1);
}
const prefix = sudo ?? [];
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
console.error(`installing ${missing.join(", ")} for the end-to-end tests ...`);
for (const args of [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", ...missing]]) {
  const result = Bun.spawnSync([...prefix, ...args], { env, stdout: "ignore", stderr: "inherit" });
  if (result.exitCode !== 0) {
    console.error(`could not install ${missing.join(", ")} (${args.join(" ")} exited ${result.exitCode})`);
    process.exit(1);
  }
}
