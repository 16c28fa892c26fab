/** HTTPS served by the binary itself: a client trusting the test CA connects, plain HTTP fails, SIGHUP reloads the certificate. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let pki: string;
let server: ServerProcess;
let key: string;
let ca: string;

function openssl(...args: string[]) {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: pki, stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
}

function issue(name: string) {
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", "/CN=localhost");
  writeFileSync(join(pki, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", "ext.cnf");
}

const peerSerial = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on("error", reject);
  });

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  pki = tempDir("mcp-mt-pki-");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mcp-mt test CA");
  issue("first");
  issue("second");
  ca = await Bun.file(join(pki, "ca.pem")).text();
  copyFileSync(join(pki, "first.pem"), join(dir, "server.pem"));
  copyFileSync(join(pki, "first.key"), join(dir, "server.key"));
  writeFileSync(join(dir, "tls.toml"), '[server.tls]\ncert = "server.pem"\nkey = "server.key"\n');
  key = run(bin, ["tenant", "add", "acme", "--json"], { cwd: dir }).json().api_key;
  server = await startServe(bin, dir, ["--config", "tls.toml"]);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("TLS", () => {
  test("a client with the test CA connects over HTTPS", async () => {
    expect(server.url).toStartWith("https://127.0.0.1:");
    const { body, headers } = modernRequest("tools/list");
    const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body), tls: { ca } });
    expect(response.status).toBe(200);
    expect((((await response.json()) as any).result.tools as unknown[]).length).toBe(7);
  });

  test("an untrusted client and plain HTTP to the TLS port both fail", async () => {
    await expect(fetch(`${server.origin}/healthz`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  test("SIGHUP reloads the certificate without a restart", async () => {
    const before = await peerSerial(server.port);
    copyFileSync(join(pki, "second.pem"), join(dir, "server.pem"));
    copyFileSync(join(pki, "second.key"), join(dir, "server.key"));
    server.proc.kill("SIGHUP");
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await Bun.sleep(50);
      after = await peerSerial(server.port);
    }
    expect(after).not.toBe(before);
    const { stdout } = Bun.spawnSync(["openssl", "x509", "-in", join(pki, "second.pem"), "-noout", "-serial"]);
    expect(stdout.toString().trim()).toBe(`serial=${after}`);
    expect((await fetch(`${server.origin}/healthz`, { tls: { ca } })).status).toBe(200);
  });
});
