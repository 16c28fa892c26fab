/**
 * Search snippets built in TypeScript from a bounded window of a document, instead of FTS5 snippet(), whose
 * cost grows with the number of matches in a document (64 KiB of one repeated word took 11 s). Here the work
 * is at most one pass over the window, stopping at the first match: independent of how often a term occurs.
 *
 * Highlighting cannot be confused with markdown in the document: matches are wrapped in `**`, and every `*`
 * and `\` that comes from the document is escaped with a backslash (`**bold**` reads `\*\*bold\*\*`).
 */
import { porterStem } from "./porter.ts";
import { foldWord, type SearchTerm } from "./search-query.ts";

/** Tokens shown in a snippet, and how many of them precede the first match (as FTS5's snippet() window). */
const snippetTokens = 16;
const leadTokens = 3;
const ellipsis = "…";

const wordPattern = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** Escapes the characters that would read as highlight markers. */
export const escapeSnippetText = (text: string) => text.replace(/[\\*]/g, (c) => `\\${c}`);

type Span = { start: number; end: number };

/** ASCII-only lower case: keeps every offset (full Unicode lower-casing can change lengths) and is what LIKE folds. */
const asciiLower = (text: string) => text.replace(/[A-Z]+/g, (run) => run.toLowerCase());

/** Decides whether a word of the document matches a term of the query (stemmed, or by prefix). */
function wordMatcher(terms: SearchTerm[]): (word: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  // A term with symbols is found (and highlighted) as written: its words alone would mark "at" for `AT&T`.
  for (const term of terms.filter((t) => t.literal === null)) {
    term.words.forEach((w, i) => (term.prefix && i === term.words.length - 1 ? prefixes.push(w) : exact.add(w)));
  }
  return (word) => {
    const folded = foldWord(word);
    if (prefixes.some((p) => folded.startsWith(p))) return true;
    return exact.size > 0 && exact.has(porterStem(folded));
  };
}

/** Where each literal term first occurs at or after `from` (ASCII case-insensitive, as the LIKE check). */
function literalSpans(lowered: string, literals: string[], from: number, to: number): Span[] {
  const spans: Span[] = [];
  for (const literal of literals) {
    const needle = asciiLower(literal);
    for (let at = lowered.indexOf(needle, from); at !== -1 && at < to; at = lowered.indexOf(needle, at + needle.length)) {
      spans.push({ start: at, end: at + needle.length });
    }
  }
  return spans;
}

/**
 * A snippet of `text` around its first match: up to 16 words, matches in `**…**`, `…` where text was cut.
 * Returns null when nothing in `text` matches. `truncated` says `text` is only the beginning of the document.
 */
export function snippetOf(text: string, terms: SearchTerm[], truncated = false): string | null {
  const matches = wordMatcher(terms);
  const literals = terms.flatMap((t) => (t.literal === null ? [] : [t.literal]));
  const lowered = literals.length ? asciiLower(text) : text;
  const firstLiteral = Math.min(...literalSpans(lowered, literals, 0, text.length).map((s) => s.start));

  // One pass over the words (of a bounded window), until the first match.
  const starts: number[] = [];
  const hits: Span[] = [];
  let firstIndex = -1;
  wordPattern.lastIndex = 0;
  for (let m = wordPattern.exec(text); m; m = wordPattern.exec(text)) {
    if (m.index >= firstLiteral && firstIndex === -1) {
      // A literal match comes first: start the window at the word it overlaps, or the next one.
      firstIndex = starts.length;
    }
    starts.push(m.index);
    if (firstIndex === -1 && matches(m[0])) firstIndex = starts.length - 1;
    if (firstIndex !== -1) break;
  }
  if (firstIndex === -1 && !Number.isFinite(firstLiteral)) return null;
  const startAt = firstIndex === -1 ? firstLiteral : starts[Math.max(0, firstIndex - leadTokens)]!;
  const windowStart = Math.min(startAt, firstLiteral);

  // Collect the window's words from its start, highlighting matches, up to snippetTokens words.
  let windowEnd = text.length;
  let count = 0;
  wordPattern.lastIndex = windowStart;
  for (let m = wordPattern.exec(text); m; m = wordPattern.exec(text)) {
    if (count === snippetTokens) {
      windowEnd = m.index;
      break;
    }
    count++;
    if (matches(m[0])) hits.push({ start: m.index, end: m.index + m[0].length });
  }
  if (count < snippetTokens || windowEnd === text.length) windowEnd = trimEnd(text, windowEnd);
  hits.push(...literalSpans(lowered, literals, windowStart, windowEnd));
  return render(text, windowStart, windowEnd, hits, windowStart > 0, windowEnd < text.length || truncated);
}

/** The first words of `text`, for a document whose match is beyond the snippet window or only in its title. */
export function leadOf(text: string, truncated = false): string {
  let end = text.length;
  let count = 0;
  wordPattern.lastIndex = 0;
  for (let m = wordPattern.exec(text); m; m = wordPattern.exec(text)) {
    if (count++ === snippetTokens) {
      end = m.index;
      break;
    }
  }
  return render(text, 0, trimEnd(text, end), [], false, end < text.length || truncated);
}

const trimEnd = (text: string, end: number) => end - (/\s*$/.exec(text.slice(Math.max(0, end - 64), end))?.[0].length ?? 0);

/** The window's text with its (possibly overlapping) matches marked, everything else escaped. */
function render(text: string, start: number, end: number, hits: Span[], cutStart: boolean, cutEnd: boolean): string {
  // Overlapping or touching matches become one, so markers never meet (`**C****++**` would be ambiguous).
  const merged: Span[] = [];
  for (const hit of hits.sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && hit.start <= last.end) last.end = Math.max(last.end, hit.end);
    else merged.push({ ...hit });
  }
  let out = cutStart ? ellipsis : "";
  let at = start;
  for (const hit of merged) {
    const from = Math.max(hit.start, at);
    const to = Math.min(hit.end, end);
    if (to <= from) continue;
    out += `${escapeSnippetText(text.slice(at, from))}**${escapeSnippetText(text.slice(from, to))}**`;
    at = to;
  }
  out += escapeSnippetText(text.slice(at, end));
  return cutEnd ? out + ellipsis : out;
}
