/** Raises the soft open-file limit to the hard limit where the OS allows (each WAL database holds 3 fds). */
import { dlopen, FFIType, ptr } from "bun:ffi";

const RLIMIT_NOFILE = { linux: 7, darwin: 8 } as const;

/** Returns the soft limit in force afterwards, or null where it cannot be read (e.g. Windows). */
export function raiseFdLimit(): number | null {
  const platform = process.platform;
  if (platform !== "linux" && platform !== "darwin") return null;
  try {
    const lib = dlopen(platform === "linux" ? "libc.so.6" : "libSystem.B.dylib", {
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    });
    const limits = new BigUint64Array(2);
    const resource = RLIMIT_NOFILE[platform];
    if (lib.symbols.getrlimit(resource, ptr(limits)) !== 0) return null;
    // macOS refuses a soft limit above OPEN_MAX even when the hard limit is "unlimited".
    const ceiling = platform === "darwin" ? 10240n : limits[1]!;
    const target = limits[1]! < ceiling ? limits[1]! : ceiling;
    if (limits[0]! < target) {
      limits[0] = target;
      lib.symbols.setrlimit(resource, ptr(limits));
      lib.symbols.getrlimit(resource, ptr(limits));
    }
    lib.close();
    return Number(limits[0]);
  } catch {
    return null;
  }
}
