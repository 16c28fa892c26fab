/**
 * Search on PostgreSQL, from the parsed query (search-query.ts, shared with libSQL) to a tsquery and from
 * result rows to libSQL's SearchHit shape. A term's words come from the same word splitter as libSQL's, each
 * quoted as a lexeme (so no user text is ever tsquery syntax), joined as a phrase (`<->`), a trailing `*`
 * becoming a prefix (`:*`) of the last word; terms are ANDed.
 */
import { leadOf, snippetFinder, snippetOf, escapeSnippetText } from "../tenant/snippet.ts";
import { wordsOf, type SearchQuery } from "../tenant/search-query.ts";
import type { SearchHit } from "../tenant/documents.ts";
import { markStart, markStop } from "./statements.ts";

/** The tsquery text of a parsed query with words (its `phrases` are FTS5-quoted terms: `"…"` or `"…"*`). */
export function toTsQuery(query: SearchQuery): string {
  return query.phrases
    .map((phrase) => {
      const prefix = phrase.endsWith("*");
      const term = phrase.slice(1, prefix ? -2 : -1).replaceAll('""', '"');
      const lexemes = wordsOf(term).map((word) => `'${word.replace(/['\\]/g, (c) => `\\${c}`)}'`);
      return `${lexemes.join(" <-> ")}${prefix ? ":*" : ""}`;
    })
    .map((phrase) => (phrase.includes("<->") ? `(${phrase})` : phrase))
    .join(" & ");
}

export type HitRow = {
  seq: number;
  id: string;
  title: string;
  tags: string[];
  version: number;
  created_at: number;
  updated_at: number;
  score: number;
  /** The first snippetWindowChars of the content, as stored. */
  window: string;
  truncated: boolean;
  /** ts_headline of the escaped window and of the escaped title (word queries only). */
  body?: string;
  head?: string;
};

const markers = new RegExp(`[${markStart}${markStop}]`, "g");

/** A ts_headline of escaped text as a snippet: markers become `**`, `…` where the text was cut. */
function fromHeadline(headline: string, source: string, truncated: boolean): string {
  const whole = escapeSnippetText(source.replace(markers, "")).trim();
  const plain = headline.replace(markers, "").trim();
  const marked = headline.trim().replaceAll(markStart, "**").replaceAll(markStop, "**");
  return `${whole.startsWith(plain) ? "" : "…"}${marked}${truncated || !whole.endsWith(plain) ? "…" : ""}`;
}

/** The hits of one search: the snippet finder is built once for all its rows. */
export function hitsOf(rows: HitRow[], query: SearchQuery): SearchHit[] {
  const finder = snippetFinder(query.terms);
  return rows.map((row) => hitOf(row, finder));
}

function hitOf(row: HitRow, finder: ReturnType<typeof snippetFinder>): SearchHit {
  // libSQL's snippet builder first, on the same window and title: the same snippet, byte for byte, wherever
  // it finds the query as written. ts_headline (word queries, this page only) covers what only PostgreSQL's
  // stemmer matched; the lead of the text when neither finds anything.
  const headline =
    row.body !== undefined && row.head !== undefined
      ? row.body.includes(markStart)
        ? fromHeadline(row.body, row.window, row.truncated)
        : row.head.includes(markStart)
          ? fromHeadline(row.head, row.title, false)
          : null
      : null;
  const snippet = snippetOf(row.window, finder, row.truncated) ?? snippetOf(row.title, finder) ?? headline ?? leadOf(row.window, row.truncated);
  return {
    id: row.id,
    title: row.title,
    tags: row.tags,
    version: row.version,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    snippet,
    score: Math.round(row.score * 1e4) / 1e4 || 0,
  };
}
