/**
 * Entry of a store worker thread: owns its tenants' libSQL connections and answers the registry's messages.
 * Messages are collected for one event-loop turn and handled as a batch: those that arrived while the thread
 * was busy (e.g. waiting for the disk to sync a commit) are handled together, so writes of one tenant share
 * the next commit (group commit) without any added wait when the thread is idle.
 */
import { StoreExecutor } from "./executor.ts";
import type { ExecutorInit, ExecutorReply, ExecutorRequest } from "./protocol.ts";

declare const self: Worker;

let executor: StoreExecutor | undefined;
let queue: ExecutorRequest[] = [];
let scheduled = false;

const reply = (answer: ExecutorReply) => self.postMessage(answer);

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
    await executor!.handleBatch(batch, reply);
  } finally {
    scheduled = false;
    if (queue.length) schedule();
  }
}

self.onmessage = (event: MessageEvent<ExecutorRequest | { kind: "init"; init: ExecutorInit }>) => {
  const message = event.data;
  if (message.kind === "init") {
    executor = new StoreExecutor(message.init);
    return;
  }
  queue.push(message);
  schedule();
};
