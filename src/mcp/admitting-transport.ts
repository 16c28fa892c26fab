/**
 * A transport wrapper that runs admission (rate limits, quota, CPU budget, concurrency and stream caps) on
 * every inbound request, so stdio answers over-limit requests with the same JSON-RPC error as HTTP, without
 * reaching a tool.
 */
import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from "@modelcontextprotocol/server";
import type { Admission } from "../limits/admission.ts";
import type { TenantRow } from "../store/control/schema.ts";

type RequestLike = { id?: string | number; method?: string; params?: { name?: unknown; arguments?: unknown; requestId?: unknown } };

export class AdmittingTransport implements Transport {
  readonly #inner: Transport;
  readonly #admission: Admission;
  readonly #tenant: () => TenantRow;
  readonly #scopes: readonly string[] | undefined;
  /** Release functions of admitted requests, by JSON-RPC id, called when their response goes out. */
  readonly #inFlight = new Map<string | number, () => void>();
  /** Open subscriptions/listen streams, by JSON-RPC id: ended by their final response or a cancellation. */
  readonly #streams = new Map<string | number, () => void>();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  /** `scopes`: the caller's, so a call to a tool outside them is not billed. */
  constructor(inner: Transport, admission: Admission, tenant: () => TenantRow, scopes?: readonly string[]) {
    this.#inner = inner;
    this.#admission = admission;
    this.#tenant = tenant;
    this.#scopes = scopes;
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => void this.#receive(message, extra);
  }

  async #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): Promise<void> {
    const request = message as RequestLike;
    if (request.id === undefined || typeof request.method !== "string") {
      // A cancelled request gets no response from the SDK: its slot (or its stream) is freed here.
      if (request.method === "notifications/cancelled") this.#settle(request.params?.requestId as string | number | undefined);
      return this.onmessage?.(message, extra);
    }
    const tool = request.method === "tools/call" && typeof request.params?.name === "string" ? request.params.name : null;
    const result = await this.#admission.admit({ tenant: this.#tenant(), method: request.method, tool, args: request.params?.arguments, scopes: this.#scopes });
    if (!result.ok) {
      await this.#inner.send({ jsonrpc: "2.0", id: request.id, error: { code: result.code, message: result.message, data: result.data } } as JSONRPCMessage);
      return;
    }
    if (result.endStream) {
      // A stream answers only when it ends: it holds its stream slot, not a concurrency slot.
      result.release();
      this.#streams.set(request.id, result.endStream);
    } else this.#inFlight.set(request.id, result.release);
    this.onmessage?.(message, extra);
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = message as { id?: string | number; result?: unknown; error?: unknown };
    if (response.id !== undefined && (response.result !== undefined || response.error !== undefined)) {
      this.#settle(response.id);
    }
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    for (const release of this.#inFlight.values()) release();
    this.#inFlight.clear();
    for (const end of this.#streams.values()) end();
    this.#streams.clear();
    return this.#inner.close();
  }

  /** Frees what the request `id` holds: its concurrency slot, or its stream slot. */
  #settle(id: string | number | undefined): void {
    if (id === undefined) return;
    this.#inFlight.get(id)?.();
    this.#inFlight.delete(id);
    this.#streams.get(id)?.();
    this.#streams.delete(id);
  }

  get sessionId() {
    return this.#inner.sessionId;
  }

  setProtocolVersion = (version: string) => this.#inner.setProtocolVersion?.(version);
}
