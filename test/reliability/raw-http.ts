/**
 * A raw HTTP/1.1 connection for edge tests: what fetch hides (a connection kept or closed, a body sent in
 * pieces or never finished, the client's source address) is what these tests are about.
 */
import { connect, type Socket } from "node:net";

export type RawResponse = { status: number; headers: Record<string, string>; body: string; json<T = any>(): T };

export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly closedPromise: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    let resolveClosed!: () => void;
    this.closedPromise = new Promise((resolve) => (resolveClosed = resolve));
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    const onClose = () => {
      this.#closed = true;
      resolveClosed();
      this.#wake();
    };
    socket.on("close", onClose);
    socket.on("error", () => undefined);
  }

  /** Opens a connection to the server's port, from `localAddress` (any 127.x.y.z on Linux loopback). */
  static open(port: number, localAddress = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, localAddress });
      socket.once("connect", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: string | Uint8Array): void {
    if (!this.#closed) this.#socket.write(data);
  }

  /** Sends a request head (and optionally all or part of its body). */
  send(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; partialBody?: string; contentLength?: number }): void {
    const body = options.body ?? options.partialBody ?? "";
    const length = options.contentLength ?? Buffer.byteLength(options.body ?? "");
    const headers = { host: "127.0.0.1", "content-length": String(length), ...options.headers };
    const head = `${options.method ?? "POST"} ${options.path ?? "/mcp"} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
    this.write(Buffer.concat([Buffer.from(head), Buffer.from(body)]));
  }

  /** The next complete response (Content-Length framed, as this server answers), or throws if the connection closes first. */
  async response(timeoutMs = 15_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.#take();
      if (parsed) return parsed;
      if (this.#closed) throw new Error("connection closed before a complete response");
      if (Date.now() > deadline) throw new Error("no response in time");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Whether the server closes the connection within `withinMs` (a bound for an outcome, not a timing). */
  async closesWithin(withinMs: number): Promise<boolean> {
    await Promise.race([this.closedPromise, Bun.sleep(withinMs)]);
    return this.#closed;
  }

  close(): void {
    this.#socket.destroy();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #take(): RawResponse | null {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end < 0) return null;
    const lines = this.#buffer.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers["content-length"] ?? 0);
    if (this.#buffer.length < end + 4 + length) return null;
    const body = this.#buffer.subarray(end + 4, end + 4 + length).toString("utf8");
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    return { status, headers, body, json: () => JSON.parse(body) };
  }
}

/** A syntactically valid API key (right shape and checksum is not needed: the id is what failures are counted under). */
export function inventedKey(id: string): string {
  return `mcpmt_${id.padEnd(12, "0").slice(0, 12)}_${"A".repeat(43)}AAAAAA`;
}

/** The URL the server's metrics listener announced in its log. */
export function metricsUrl(stderr: string): string {
  const line = stderr.split("\n").find((l) => l.includes('"metrics listening"'));
  if (!line) throw new Error(`no metrics listener in the log:\n${stderr}`);
  return JSON.parse(line).url;
}

/** The number of series (sample lines) of the request families in a Prometheus text page. */
export function requestSeries(text: string): number {
  return text.split("\n").filter((line) => /^mcp_mt_request(s_total|_duration_seconds_\w+)[{ ]/.test(line)).length;
}
