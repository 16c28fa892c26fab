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

export function hitOf(row: HitRow, query: SearchQuery): SearchHit {
  let snippet: string;
  if (row.body !== undefined && row.head !== undefined) {
    snippet = row.body.includes(markStart)
      ? fromHeadline(row.body, row.window, row.truncated)
      : row.head.includes(markStart)
        ? fromHeadline(row.head, row.title, false)
        : leadOf(row.window, row.truncated);
  } else {
    // Symbols only: ts_headline cannot see them; the libSQL snippet builder finds them as written.
    const finder = snippetFinder(query.terms);
    snippet = snippetOf(row.window, finder, row.truncated) ?? snippetOf(row.title, finder) ?? leadOf(row.window, row.truncated);
  }
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
