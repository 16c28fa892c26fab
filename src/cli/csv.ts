/** A small RFC 4180 reader: a header row, quoted fields ("a, b", "say ""hi"""), CRLF or LF line ends. */
import { invalidInput } from "../errors.ts";

export type CsvRecord = { line: number; fields: Record<string, string> };

/** Parses CSV text with a header row into records keyed by column name; `columns` lists the allowed ones. */
export function parseCsv(text: string, columns: { required: string[]; optional: string[] }, source: string): CsvRecord[] {
  const rows = splitRows(text.replace(/^\uFEFF/, ""), source);
  const nonEmpty = rows.filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === "") && !r.cells[0]!.startsWith("#"));
  if (nonEmpty.length === 0) throw invalidInput(`${source} is empty: expected a header row (${[...columns.required, ...columns.optional].join(",")}) and one row per tenant`);
  const [header, ...body] = nonEmpty;
  const names = header!.cells.map((c) => c.trim().toLowerCase());
  const allowed = new Set([...columns.required, ...columns.optional]);
  const unknown = names.filter((n) => !allowed.has(n));
  if (unknown.length) throw invalidInput(`${source} line ${header!.line}: unknown column ${JSON.stringify(unknown[0])}; the columns are ${[...allowed].join(", ")} (a header row comes first)`);
  for (const required of columns.required) if (!names.includes(required)) throw invalidInput(`${source} line ${header!.line}: the header row has no ${JSON.stringify(required)} column (columns: ${[...allowed].join(", ")})`);
  if (new Set(names).size !== names.length) throw invalidInput(`${source} line ${header!.line}: a column is named twice`);
  return body.map(({ line, cells }) => {
    if (cells.length > names.length) throw invalidInput(`${source} line ${line}: ${cells.length} fields, but the header has ${names.length} columns (quote a value that contains a comma)`);
    return { line, fields: Object.fromEntries(names.map((name, i) => [name, (cells[i] ?? "").trim()])) };
  });
}

function splitRows(text: string, source: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === "\n") line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === "") quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      cells.push(cell);
      rows.push({ line: rowLine, cells });
      cells = [];
      cell = "";
      rowLine = ++line;
    } else cell += ch;
  }
  if (quoted) throw invalidInput(`${source} line ${rowLine}: a quoted field is never closed`);
  if (cell !== "" || cells.length) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  return rows;
}

/** One CSV field, quoted when it must be. */
export const csvField = (value: unknown) => (/[",\r\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value));
