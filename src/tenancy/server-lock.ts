/**
 * The data directory's server lock: `<data>/server.lock`, held with flock(2) by the running `mcp-mt serve`.
 * The kernel releases it when the process dies (kill -9 included), so a crash never blocks a restart; the
 * pid written inside only says who holds it. Where flock is unavailable (Windows), a pid check stands in.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const fileName = "server.lock";
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, operation: number) => number;

let flockFn: Flock | null | undefined;

/** flock(2) from the C library, or null where it cannot be loaded. */
function flock(): Flock | null {
  if (flockFn !== undefined) return flockFn;
  flockFn = null;
  if (process.platform === "linux" || process.platform === "darwin") {
    try {
      const lib = dlopen(process.platform === "linux" ? "libc.so.6" : "libSystem.B.dylib", { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
      flockFn = (fd, operation) => lib.symbols.flock(fd, operation);
    } catch {
      flockFn = null;
    }
  }
  return flockFn;
}

/** Locks this process holds, by data directory: asking about our own directory must not look like a rival. */
const held = new Map<string, number>();

const pidIn = (path: string): number | null => {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
};

/**
 * Takes the data directory's lock for this server; returns the release function. Throws naming the holder's
 * pid when another live process holds it.
 */
export function claimDataDir(dataDir: string): () => void {
  const path = join(dataDir, fileName);
  const lock = flock();
  if (held.has(dataDir)) throw new Error(`this process already serves ${dataDir}`);
  const fd = openSync(path, "a+", 0o600);
  if (lock) {
    if (lock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      const pid = pidIn(path);
      throw new Error(`another mcp-mt serve${pid ? ` (pid ${pid})` : ""} is using ${dataDir}`);
    }
  } else {
    const pid = pidIn(path);
    if (pid && pid !== process.pid && alive(pid)) {
      closeSync(fd);
      throw new Error(`another mcp-mt serve (pid ${pid}) is using ${dataDir}`);
    }
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  held.set(dataDir, fd);
  return () => {
    if (held.get(dataDir) !== fd) return;
    held.delete(dataDir);
    // The file stays: unlinking a lock file lets two processes lock two different inodes.
    ftruncateSync(fd, 0);
    closeSync(fd);
  };
}

/** The server holding this data directory's lock, if any (a crashed server holds nothing). */
export function runningServer(dataDir: string): { pid: number } | null {
  if (held.has(dataDir)) return { pid: process.pid };
  const path = join(dataDir, fileName);
  if (!existsSync(path)) return null;
  const lock = flock();
  if (!lock) {
    const pid = pidIn(path);
    return pid && alive(pid) ? { pid } : null;
  }
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    // A shared lock succeeds unless a server holds the exclusive one.
    if (lock(fd, LOCK_SH | LOCK_NB) === 0) return null;
    return { pid: pidIn(path) ?? 0 };
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
