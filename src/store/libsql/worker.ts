/** Entry of a store worker thread: owns its tenants' libSQL connections and answers the registry's messages. */
import { StoreExecutor } from "./executor.ts";
import type { ExecutorInit, ExecutorRequest } from "./protocol.ts";

declare const self: Worker;

let executor: StoreExecutor | undefined;

self.onmessage = (event: MessageEvent<ExecutorRequest | { kind: "init"; init: ExecutorInit }>) => {
  const message = event.data;
  if (message.kind === "init") {
    executor = new StoreExecutor(message.init);
    return;
  }
  void executor!.handle(message).then((reply) => reply && self.postMessage(reply));
};
