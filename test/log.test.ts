/** The logger keeps lines bounded and the pretty format harmless for a terminal, whatever a client sent. */
import { describe, expect, test } from "bun:test";
import { createLogger, maxFieldChars } from "../src/log.ts";

function capture(format: "json" | "pretty") {
  const lines: string[] = [];
  return { log: createLogger({ level: "debug", format, write: (line) => lines.push(line) }), lines };
}

describe("log fields", () => {
  const cases: { name: string; fields: Record<string, unknown>; check(line: string): void }[] = [
    { name: "a 500 KB string is cut with a marker", fields: { method: "m".repeat(500_000) }, check: (line) => expect(line).toContain(`…[${500_000 - maxFieldChars} more chars]`) },
    { name: "a wide array is summarised", fields: { items: Array.from({ length: 10_000 }, (_, i) => i) }, check: (line) => expect(line).toContain("more items") },
    { name: "a deep object is summarised", fields: { deep: { a: { b: { c: { d: { e: "x".repeat(10) } } } } } }, check: (line) => expect(line).toContain("[…]") },
  ];
  for (const { name, fields, check } of cases) {
    for (const format of ["json", "pretty"] as const) {
      test(`${name} (${format})`, () => {
        const { log, lines } = capture(format);
        log.info("request", fields);
        expect(lines[0]!.length).toBeLessThan(2_000);
        check(lines[0]!);
      });
    }
  }

  test("the pretty format escapes control characters: no terminal escape sequence reaches the operator", () => {
    const { log, lines } = capture("pretty");
    log.warn("bad \u001b[2J message", { tool: "x\u001b]0;pwned\u0007\r\nFAKE LINE", c1: "\u009b31m" });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(lines[0]).toContain("\\u001b[2J");
    expect(lines[0]).toContain("\\u001b]0;pwned\\u0007\\u000d\\nFAKE LINE");
  });

  test("JSON lines stay one line per record, and dates keep their ISO form", () => {
    const { log, lines } = capture("json");
    log.info("x", { at: new Date(0), text: "a\nb" });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ at: "1970-01-01T00:00:00.000Z", text: "a\nb" });
  });
});
