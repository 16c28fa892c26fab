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

/** Longest string kept in a logged field; anything a client sent can be that long, so nothing is logged whole. */
export const maxFieldChars = 300;
const maxDepth = 4;
const maxItems = 50;

/** Caps a logged value: long strings cut with a marker, deep or wide structures summarised (bounded log lines). */
export function boundValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length <= maxFieldChars ? value : `${value.slice(0, maxFieldChars)}…[${value.length - maxFieldChars} more chars]`;
  if (typeof value !== "object" || value === null) return value;
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === "function") return boundValue(toJSON.call(value), depth);
  if (depth >= maxDepth) return "[…]";
  if (Array.isArray(value)) {
    const items = value.slice(0, maxItems).map((item) => boundValue(item, depth + 1));
    return value.length > maxItems ? [...items, `…[${value.length - maxItems} more items]`] : items;
  }
  const entries = Object.entries(value);
  const kept = entries.slice(0, maxItems).map(([k, v]) => [boundValue(k) as string, boundValue(v, depth + 1)]);
  if (entries.length > maxItems) kept.push(["…", `${entries.length - maxItems} more keys`]);
  return Object.fromEntries(kept);
}

/** Control characters (C0, DEL, C1) written as escapes, so a logged value cannot drive the operator's terminal. */
export const escapeControl = (text: string) =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => (ch === "\n" ? "\\n" : ch === "\t" ? "\\t" : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`));

export function createLogger(options: LoggerOptions, base: Record<string, unknown> = {}): Logger {
  const write = options.write ?? (sharedStderr ??= bufferedStderr());
  const min = order[options.level];
  const format = options.format === "auto" ? (process.stderr.isTTY ? "pretty" : "json") : options.format;
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const bounded = boundValue({ ...base, ...fields }) as Record<string, unknown>;
    const record = { time: new Date().toISOString(), level, msg: boundValue(msg) as string, ...bounded };
    if (format === "json") return write(`${JSON.stringify(record)}\n`);
    const extra = Object.entries(bounded)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    write(escapeControl(`${record.time} ${level.toUpperCase().padEnd(5)} ${record.msg}${extra ? ` ${extra}` : ""}`) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
