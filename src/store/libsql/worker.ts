/**
 * Entry of a store worker thread: owns its tenants' libSQL connections and answers the registry's messages.
 * Messages arrive in batches (an array per postMessage) and are collected for one event-loop turn: those that
 * arrived while the thread was busy (e.g. waiting for the disk to sync a commit) are handled together, so
 * writes of one tenant share the next commit (group commit) without any added wait when the thread is idle.
 * Replies go back in batches too: one postMessage per batch handled, and before any call that may take long,
 * so no finished call's answer waits behind another tenant's query.
 */
import { StoreExecutor } from "./executor.ts";
import type { ExecutorInit, ExecutorReply, ExecutorRequest } from "./protocol.ts";

declare const self: Worker;

let executor: StoreExecutor | undefined;
let queue: ExecutorRequest[] = [];
let scheduled = false;

/** Replies wait here until the batch is done, or until a call that may take long is about to run. */
let outbox: ExecutorReply[] = [];
const reply = (answer: ExecutorReply) => void outbox.push(answer);
const flush = () => {
  if (outbox.length === 0) return;
  const batch = outbox;
  outbox = [];
  self.postMessage(batch);
};

/** setImmediate runs after every message already waiting has been delivered to onmessage. */
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(drain);
}

async function drain(): Promise<void> {
  const batch = queue;
  queue = [];
  try {
    await executor!.handleBatch(batch, reply, flush);
  } finally {
    flush();
    scheduled = false;
    if (queue.length) schedule();
  }
}

self.onmessage = (event: MessageEvent<ExecutorRequest[] | { kind: "init"; init: ExecutorInit }>) => {
  const message = event.data;
  if (!Array.isArray(message)) {
    executor = new StoreExecutor(message.init);
    return;
  }
  for (const request of message) queue.push(request);
  schedule();
};
