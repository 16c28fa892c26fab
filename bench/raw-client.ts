/**
 * A minimal HTTP/1.1 client over node:net for the attack rows: it can bind the client side to another loopback
 * address (127.0.0.2), so an attacker's connections are not counted against the victim's address (127.0.0.1)
 * by the server's per-address caps, and it keeps one connection alive across requests as a real client would.
 * It reads Content-Length and chunked bodies; `firstChunkOnly` returns as soon as headers and one body chunk
 * arrived (event streams). A connection the server closes is reopened on the next request.
 */
import net from "node:net";

export type RawResponse = { status: number; headers: Record<string, string>; body: string; closed: boolean };

export class RawConnection {
  #socket: net.Socket | undefined;
  #buffer = Buffer.alloc(0);
  #waiter: (() => void) | undefined;
  #closed = true;
  constructor(
    readonly host: string,
    readonly port: number,
    readonly localAddress = "127.0.0.2",
  ) {}

  get open(): boolean {
    return !this.#closed;
  }

  async connect(): Promise<void> {
    if (!this.#closed) return;
    this.#buffer = Buffer.alloc(0);
    const socket = net.connect({ host: this.host, port: this.port, localAddress: this.localAddress });
    this.#socket = socket;
    this.#closed = false;
    socket.on("data", (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#waiter?.();
    });
    const onClose = () => {
      if (this.#socket !== socket) return;
      this.#closed = true;
      this.#waiter?.();
    };
    socket.on("close", onClose);
    socket.on("error", onClose);
    await new Promise<void>((resolve) => {
      socket.once("connect", () => resolve());
      socket.once("close", () => resolve());
      socket.once("error", () => resolve());
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#closed = true;
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Sends one request and reads its response. Status 0: the connection failed or closed before a response. */
  async request(method: string, path: string, headers: Record<string, string>, body?: string | Buffer, options: { firstChunkOnly?: boolean } = {}): Promise<RawResponse> {
    const reused = !this.#closed;
    const r = await this.#request(method, path, headers, body, options);
    // The server may have closed a kept-alive connection just before this request was written (as a browser
    // would, retry once on a fresh connection); a fresh connection that fails is reported as is.
    if (r.status === 0 && reused) return this.#request(method, path, headers, body, options);
    return r;
  }

  async #request(method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined, options: { firstChunkOnly?: boolean }): Promise<RawResponse> {
    await this.connect();
    if (this.#closed) return { status: 0, headers: {}, body: "connect failed", closed: true };
    const payload = body === undefined ? undefined : typeof body === "string" ? Buffer.from(body) : body;
    const head = [`${method} ${path} HTTP/1.1`, `host: ${this.host}:${this.port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (payload) head.push(`content-length: ${payload.length}`);
    this.#socket!.write(`${head.join("\r\n")}\r\n\r\n`);
    if (payload) this.#socket!.write(payload);
    // Headers.
    let end = -1;
    while ((end = this.#buffer.indexOf("\r\n\r\n")) < 0) {
      if (this.#closed) return { status: 0, headers: {}, body: "closed before a response", closed: true };
      await this.#wait();
    }
    const lines = this.#buffer.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const resHeaders: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      resHeaders[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    this.#buffer = this.#buffer.subarray(end + 4);
    let text = "";
    if (options.firstChunkOnly) {
      while (this.#buffer.length === 0 && !this.#closed) await this.#wait();
      text = this.#buffer.toString();
      this.#buffer = Buffer.alloc(0);
    } else if (resHeaders["content-length"] !== undefined) {
      const n = Number(resHeaders["content-length"]);
      while (this.#buffer.length < n && !this.#closed) await this.#wait();
      text = this.#buffer.subarray(0, n).toString();
      this.#buffer = this.#buffer.subarray(n);
    } else if (resHeaders["transfer-encoding"] === "chunked") {
      while (this.#buffer.indexOf("0\r\n\r\n") < 0 && !this.#closed) await this.#wait();
      text = this.#buffer.toString();
      this.#buffer = Buffer.alloc(0);
    }
    if (resHeaders.connection === "close") this.close();
    return { status, headers: resHeaders, body: text, closed: this.#closed };
  }
}
