/** Marks the data directory as served by a running `mcp-mt serve` (a pid file), so other commands can tell. */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const fileName = "server.pid";

export function claimDataDir(dataDir: string): () => void {
  const path = join(dataDir, fileName);
  const running = runningServer(dataDir);
  if (running && running.pid !== process.pid) {
    throw new Error(`another mcp-mt serve (pid ${running.pid}) is using ${dataDir}`);
  }
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    if (runningServer(dataDir)?.pid === process.pid) rmSync(path, { force: true });
  };
}

/** The running server of this data directory, if any (a stale pid file from a crash is ignored). */
export function runningServer(dataDir: string): { pid: number } | null {
  const path = join(dataDir, fileName);
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  // A recycled pid (e.g. a container restarted with the same pid) is not our server: check what runs there.
  if (process.platform === "linux" && pid !== process.pid) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!command.includes("serve")) return null;
    } catch {
      return null;
    }
  }
  return { pid };
}
