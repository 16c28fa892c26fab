/**
 * The stdio transport wrapper that runs every inbound request through the per-request gate (stdio-gate.ts):
 * re-authenticated, scope-checked, admitted against the tenant's limits, given its own tenant context and
 * deadline. Refusals and timeouts get the same JSON-RPC errors as HTTP (the one table in src/errors.ts).
 */
import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from "@modelcontextprotocol/server";
import { AppError, wireError } from "../errors.ts";
import { rpcCodes, timeoutMessage } from "../http/jsonrpc.ts";
import type { TenantContext } from "../tenancy/context.ts";
import type { GateRequest, Opened, Refused } from "./stdio-gate.ts";

type RequestLike = { id?: string | number; method?: string; params?: { name?: unknown; arguments?: unknown; requestId?: unknown } };
type Id = string | number;

/** What an admitted request holds until its response goes out (or its deadline passes, or it is cancelled). */
type Held = { release(): void; endStream?: () => void; deadline: AbortController; timer?: ReturnType<typeof setTimeout> };

export type Gate = {
  open(request: GateRequest): Promise<Opened | Refused>;
  /** Awaited before each response goes out (the request's cost charged where it was admitted). */
  settled?(): Promise<void>;
};

export class AdmittingTransport implements Transport {
  readonly #inner: Transport;
  readonly #gate: Gate;
  readonly #onInternal: (error: unknown) => void;
  readonly #held = new Map<Id, Held>();
  /** Requests already answered here (timed out): the SDK's late response to them is dropped. */
  readonly #answered = new Set<Id>();
  readonly #contexts = new Map<Id, TenantContext>();
  /** Requests cancelled before the gate let them through. */
  readonly #cancelledEarly = new Set<Id>();
  /** Inbound messages pass the gate one at a time, so they reach the server in the order they came. */
  #queue: Promise<void> = Promise.resolve();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  /** `onInternal`: an error that was not an AppError (logged; the client gets "Internal error"). */
  constructor(inner: Transport, gate: Gate, onInternal: (error: unknown) => void = () => undefined) {
    this.#inner = inner;
    this.#gate = gate;
    this.#onInternal = onInternal;
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => {
      // A cancellation frees the slot at once (a request waiting for that slot must not wait behind it).
      const cancelled = message as RequestLike;
      if (cancelled.method === "notifications/cancelled") this.#cancel(cancelled.params?.requestId as Id | undefined);
      this.#queue = this.#queue.then(() => this.#receive(message, extra)).catch((error) => this.onerror?.(error instanceof Error ? error : new Error(String(error))));
    };
  }

  async #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): Promise<void> {
    const request = message as RequestLike;
    if (request.id === undefined || typeof request.method !== "string") {
      return this.onmessage?.(message, extra);
    }
    const id = request.id;
    const tool = request.method === "tools/call" && typeof request.params?.name === "string" ? request.params.name : null;
    const opened = await this.#gate.open({ method: request.method, tool, args: request.params?.arguments }).catch((error: unknown): Refused => ({ ok: false, error }));
    if (!opened.ok) {
      if (!(opened.error instanceof AppError)) this.#onInternal(opened.error);
      await this.#inner.send({ jsonrpc: "2.0", id, error: wireError(opened.error, `stdio ${id}`).error } as JSONRPCMessage);
      return;
    }
    if (this.#cancelledEarly.delete(id)) {
      // Cancelled while it waited at the gate: it never reaches the server, and the SDK owes it no response.
      opened.release();
      opened.endStream?.();
      return;
    }
    const held: Held = { release: opened.release, endStream: opened.endStream, deadline: opened.deadline };
    if (opened.endStream) {
      // A stream answers only when it ends: it holds its stream slot, not a concurrency slot, and no deadline.
      opened.release();
      held.release = () => undefined;
    } else {
      held.timer = setTimeout(() => void this.#timeout(id, opened.timeoutMs), opened.timeoutMs);
    }
    this.#held.set(id, held);
    this.#contexts.set(id, opened.context);
    this.onmessage?.(message, extra);
  }

  /**
   * The tenant context of the request `id` while it runs (the server's handlers look theirs up by their
   * JSON-RPC id: serveStdio does not pass a transport's per-message extra through to them).
   */
  contextOf(id: Id | undefined): TenantContext {
    const ctx = id === undefined ? undefined : this.#contexts.get(id);
    if (!ctx) throw new AppError("unavailable", "this request is no longer admitted (it timed out or was cancelled)");
    return ctx;
  }

  /** The deadline passed: the same JSON-RPC timeout error as HTTP, the store call aborted, the SDK told to drop it. */
  async #timeout(id: Id, timeoutMs: number): Promise<void> {
    if (!this.#held.has(id)) return;
    this.#settle(id, `request timed out after ${timeoutMs} ms`);
    this.#answered.add(id);
    this.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "request timed out" } } as JSONRPCMessage);
    await this.#inner.send({ jsonrpc: "2.0", id, error: { code: rpcCodes.timeout, message: timeoutMessage(timeoutMs) } } as JSONRPCMessage);
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = message as { id?: Id; result?: unknown; error?: unknown };
    if (response.id !== undefined && (response.result !== undefined || response.error !== undefined)) {
      if (this.#answered.delete(response.id)) return;
      this.#settle(response.id);
      await this.#gate.settled?.();
    }
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    for (const id of [...this.#held.keys()]) this.#settle(id, "the session closed");
    return this.#inner.close();
  }

  /** A cancelled request gets no response from the SDK: what it holds is freed here, and its store call stopped. */
  #cancel(id: Id | undefined): void {
    if (id === undefined) return;
    if (this.#held.has(id)) this.#settle(id, "the client cancelled the request");
    else if (this.#cancelledEarly.size < 10_000) this.#cancelledEarly.add(id);
  }

  /** Frees what the request `id` holds (its concurrency or stream slot, its timer); with a reason, aborts its deadline. */
  #settle(id: Id | undefined, abortReason?: string): void {
    if (id === undefined) return;
    const held = this.#held.get(id);
    if (!held) return;
    this.#held.delete(id);
    this.#contexts.delete(id);
    clearTimeout(held.timer);
    held.release();
    held.endStream?.();
    if (abortReason !== undefined) held.deadline.abort(new AppError("timeout", abortReason));
  }

  get sessionId() {
    return this.#inner.sessionId;
  }

  setProtocolVersion = (version: string) => this.#inner.setProtocolVersion?.(version);
}
