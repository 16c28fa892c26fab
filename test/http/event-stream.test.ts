/** Event streams get keep-alive comments between events while quiet, never inside one. */
import { expect, test } from "bun:test";
import { keepEventStreamAlive } from "../../src/http/event-stream.ts";

test("a quiet stream gets comment lines between events; the events arrive intact", async () => {
  const encoder = new TextEncoder();
  const source = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode("data: one\n\n"));
      await Bun.sleep(1_200);
      controller.enqueue(encoder.encode("data: tw"));
      await Bun.sleep(1_200);
      controller.enqueue(encoder.encode("o\n\n"));
      controller.close();
    },
  });
  const response = keepEventStreamAlive(new Response(source, { headers: { "content-type": "text/event-stream" } }), 300);
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  const text = await response.text();
  expect(text.startsWith("data: one\n\n: keep-alive\n\n")).toBe(true);
  // nothing was inserted inside the second event, which was split across two writes
  expect(text).toContain("data: two\n\n");
  expect(text.replaceAll(": keep-alive\n\n", "")).toBe("data: one\n\ndata: two\n\n");
});
