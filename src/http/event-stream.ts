/** Keeps a server-sent-event response alive through the idle timeout: a comment line whenever it has been quiet. */
import { monotonicNow } from "../limits/monotonic-clock.ts";

const comment = new TextEncoder().encode(": keep-alive\n\n");

/** Whether a chunk ends an event (a blank line), so a comment may follow without splitting one. */
function endsEvent(chunk: Uint8Array): boolean {
  const n = chunk.length;
  return (n >= 2 && chunk[n - 1] === 10 && chunk[n - 2] === 10) || (n >= 4 && chunk[n - 1] === 10 && chunk[n - 2] === 13 && chunk[n - 3] === 10 && chunk[n - 4] === 13);
}

export const isEventStream = (response: Response) => response.body !== null && (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/event-stream");

/** The same response, with ": keep-alive" comments between events when nothing was sent for `everyMs`. */
export function keepEventStreamAlive(response: Response, everyMs: number): Response {
  const source = response.body!.getReader();
  let timer: ReturnType<typeof setInterval> | undefined;
  let betweenEvents = true;
  let lastWrite = monotonicNow();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        if (!betweenEvents || monotonicNow() - lastWrite < everyMs) return;
        lastWrite = monotonicNow();
        try {
          controller.enqueue(comment);
        } catch {
          clearInterval(timer);
        }
      }, Math.max(250, Math.floor(everyMs / 2)));
    },
    async pull(controller) {
      try {
        const { done, value } = await source.read();
        if (done) {
          clearInterval(timer);
          controller.close();
          return;
        }
        betweenEvents = endsEvent(value);
        lastWrite = monotonicNow();
        controller.enqueue(value);
      } catch (error) {
        clearInterval(timer);
        controller.error(error);
      }
    },
    cancel(reason) {
      clearInterval(timer);
      return source.cancel(reason);
    },
  });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}
