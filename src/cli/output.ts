/** How commands print: one JSON object with --json, readable text otherwise. */

export type Output = {
  json: boolean;
  /** Prints the human text, or the JSON value when --json is set. */
  result(human: string, value: unknown): void;
  /** A line for humans on stdout (suppressed with --json). */
  info(line: string): void;
};

export function createOutput(json: boolean, write: (text: string) => void = (t) => process.stdout.write(t)): Output {
  return {
    json,
    result(human, value) {
      write(json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith("\n") ? human : `${human}\n`);
    },
    info(line) {
      if (!json) write(`${line}\n`);
    },
  };
}

/** A plain text table with a header row. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? "-" : String(cell))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}
