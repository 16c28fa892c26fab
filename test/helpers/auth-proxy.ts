/**
 * A header-injecting reverse proxy for clients that cannot send credentials (the MCP conformance suite).
 * It listens on 127.0.0.1:<free port> and forwards every request to `upstream`, adding
 * `Authorization: Bearer <key>` and changing nothing else: Host and Origin pass through untouched (so the
 * server judges the Host the client really sent: a loopback name for a well-behaved client, a foreign one
 * for a DNS-rebinding probe), and the upstream's status, headers and body stream back unchanged.
 *
 * The upstream leg uses node:http rather than fetch, because fetch adds headers the client never sent
 * (`Accept: *\/*`, `User-Agent`), which would hide a missing-Accept probe from the server.
 */
import http from "node:http";

export type AuthProxy = { url: string; origin: string; port: number; stop(): Promise<void> };

/** Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection; a proxy never forwards them. */
const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

export function startAuthProxy(upstream: string, apiKey: string): AuthProxy {
  const target = new URL(upstream);

  async function forward(request: Request): Promise<Response> {
    const incoming = new URL(request.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) if (!hopByHop.has(name) && name !== "authorization") headers[name] = value;
    headers.authorization = `Bearer ${apiKey}`;
    const body = request.method === "GET" || request.method === "HEAD" ? null : Buffer.from(await request.arrayBuffer());
    if (body && headers["content-length"] !== undefined) headers["content-length"] = String(body.length);

    return new Promise<Response>((resolve) => {
      const upstreamRequest = http.request(
        { host: target.hostname, port: target.port, method: request.method, path: incoming.pathname + incoming.search, headers },
        (res) => {
          const out = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i]!;
            if (!hopByHop.has(name.toLowerCase())) out.append(name, res.rawHeaders[i + 1]!);
          }
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              res.on("data", (chunk: Buffer) => controller.enqueue(new Uint8Array(chunk)));
              res.on("end", () => controller.close());
              res.on("error", (error) => controller.error(error));
            },
            cancel() {
              res.destroy();
            },
          });
          const nullBody = request.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
          resolve(new Response(nullBody ? null : stream, { status: res.statusCode, statusText: res.statusMessage, headers: out }));
        },
      );
      upstreamRequest.on("error", (error) => resolve(new Response(`auth proxy: upstream ${upstream} failed: ${error.message}`, { status: 502 })));
      request.signal.addEventListener("abort", () => upstreamRequest.destroy(), { once: true });
      upstreamRequest.end(body ?? undefined);
    });
  }

  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: forward });
  const url = `http://127.0.0.1:${server.port}${target.pathname}`;
  return {
    url,
    origin: new URL(url).origin,
    port: server.port!,
    async stop() {
      await server.stop(true);
    },
  };
}
