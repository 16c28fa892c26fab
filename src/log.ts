/** Structured logger: JSON lines on stderr (or a readable format), never on stdout (stdio speaks MCP there). */
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
};

export type LoggerOptions = { level: LogLevel; format: "auto" | "json" | "pretty"; write?: (line: string) => void };

/**
 * Lines written in the same tick are joined into one write (an access-log line per request would otherwise
 * be one syscall per request). Flushed on the next macrotask and at exit, so nothing is lost on a clean stop.
 */
function bufferedStderr(): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    process.stderr.write(text);
  };
  process.once("exit", flush);
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let sharedStderr: ((line: string) => void) | undefined;

export function createLogger(options: LoggerOptions, base: Record<string, unknown> = {}): Logger {
  const write = options.write ?? (sharedStderr ??= bufferedStderr());
  const min = order[options.level];
  const format = options.format === "auto" ? (process.stderr.isTTY ? "pretty" : "json") : options.format;
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    if (format === "json") return write(`${JSON.stringify(record)}\n`);
    const extra = Object.entries({ ...base, ...fields })
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    write(`${record.time} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ""}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
