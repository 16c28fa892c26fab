/**
 * Search snippets built in TypeScript from a bounded window of a document, instead of FTS5 snippet(), whose
 * cost grows with the number of matches in a document (64 KiB of one repeated word took 11 s). Here the work
 * is one folding pass and one regular-expression scan of the window that stops at the first match, then a
 * few words around it: independent of how often a term occurs.
 *
 * Highlighting cannot be confused with markdown in the document: matches are wrapped in `**`, and every `*`
 * and `\` that comes from the document is escaped with a backslash (`**bold**` reads `\*\*bold\*\*`).
 */
import { porterStem } from "./porter.ts";
import { foldWord, type SearchTerm } from "./search-query.ts";

/** Words shown in a snippet, and how many of them precede the first match (as FTS5's snippet() window). */
const snippetWords = 16;
const leadWords = 3;
const ellipsis = "…";

const wordChar = String.raw`\p{L}\p{N}\p{M}\p{Co}`;
const wordPattern = new RegExp(`[${wordChar}]+`, "gu");

/** Escapes the characters that would read as highlight markers. */
export const escapeSnippetText = (text: string) => text.replace(/[\\*]/g, (c) => `\\${c}`);

type Span = { start: number; end: number };

/** Latin letters (U+00C0–U+024F, U+1E00–U+1EFF) without their diacritic, by code unit; 0 where none applies. */
let latinFold: Uint16Array | undefined;
function latinFoldTable(): Uint16Array {
  if (latinFold) return latinFold;
  latinFold = new Uint16Array(0x1f00);
  for (const [from, to] of [[0xc0, 0x24f], [0x1e00, 0x1eff]] as const) {
    for (let code = from; code <= to; code++) {
      const folded = foldWord(String.fromCharCode(code));
      if (folded.length === 1) latinFold[code] = folded.charCodeAt(0);
    }
  }
  return latinFold;
}
const utf16 = new TextDecoder("utf-16le");

/**
 * The text lower-cased and without diacritics, character for character, so that offsets in the folded text are
 * offsets in the original. Diacritics are removed from Latin letters only, as unicode61 does; in the rare text
 * whose lower case has another length (e.g. "İ"), characters are lower-cased one by one where that keeps them.
 */
export function foldSameLength(text: string): string {
  let lower = text.toLowerCase();
  if (lower.length !== text.length) {
    lower = "";
    for (const ch of text) {
      const l = ch.toLowerCase();
      lower += l.length === ch.length ? l : ch;
    }
  }
  if (!/[\u00c0-\u024f\u1e00-\u1eff]/.test(lower)) return lower;
  const table = latinFoldTable();
  const codes = new Uint16Array(lower.length);
  for (let i = 0; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    codes[i] = (code < 0x1f00 && table[code]) || code;
  }
  return utf16.decode(codes);
}

/**
 * How every word with this Porter stem begins: the stem less its last two letters (one for a 3-letter stem:
 * "toy" stems to "toi"); a stem's end may be rewritten ("happy" → "happi", "possibly" → "possibl").
 */
export const stemStart = (stem: string) => stem.slice(0, stem.length > 3 ? -2 : stem.length === 3 ? 2 : stem.length);

// Not `-`: outside a character class it is plain, and a `u` pattern refuses `\-` there (a literal like `<->`
// made every search hit fail).
const escapeRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`);

/**
 * What a snippet looks for: one regular expression for every term's words and literals, and a check of each
 * candidate word. A stem is found by its beginning (a Porter stem keeps all but at most the last two letters
 * of the word's start), then confirmed by stemming that one word.
 */
export type SnippetFinder = { pattern: RegExp; accepts: (found: string) => boolean };

/** The finder of a query's terms: built once per search, used for every hit. Null when nothing can be found. */
export function snippetFinder(terms: SearchTerm[]): SnippetFinder | null {
  const stems = new Set<string>();
  const prefixes: string[] = [];
  const literals: string[] = [];
  for (const term of terms) {
    // A term with symbols is found as written: its words alone would mark "at" for `AT&T`.
    if (term.literal !== null) literals.push(foldSameLength(term.literal));
    else term.words.forEach((w, i) => (term.prefix && i === term.words.length - 1 ? prefixes.push(w) : stems.add(w)));
  }
  const starts = [...stems].map(stemStart);
  const wordStarts = [...new Set([...starts, ...prefixes])].map(escapeRegExp);
  const alternatives = [
    ...(wordStarts.length ? [`(?<![${wordChar}])(?:${wordStarts.join("|")})[${wordChar}]*`] : []),
    ...literals.map(escapeRegExp),
  ];
  if (alternatives.length === 0) return null;
  const literalSet = new Set(literals);
  return {
    pattern: new RegExp(alternatives.join("|"), "gu"),
    accepts: (found) => literalSet.has(found) || prefixes.some((p) => found.startsWith(p)) || stems.has(porterStem(found)),
  };
}

/** The matches of `finder` in `folded` from `from`, up to `to`; the first only when `first`. */
function matchesIn(folded: string, finder: SnippetFinder, from: number, to: number, first: boolean): Span[] {
  const spans: Span[] = [];
  finder.pattern.lastIndex = from;
  for (let m = finder.pattern.exec(folded); m && m.index < to; m = finder.pattern.exec(folded)) {
    if (m[0].length === 0) {
      finder.pattern.lastIndex++;
      continue;
    }
    if (!finder.accepts(m[0])) continue;
    spans.push({ start: m.index, end: m.index + m[0].length });
    if (first) break;
  }
  return spans;
}

/**
 * A snippet of `text` around its first match: up to 16 words, matches in `**…**`, `…` where text was cut.
 * Returns null when nothing in `text` matches. `truncated` says `text` is only the beginning of the document.
 */
export function snippetOf(text: string, finder: SnippetFinder | null, truncated = false): string | null {
  if (!finder) return null;
  const folded = foldSameLength(text);
  const first = matchesIn(folded, finder, 0, text.length, true)[0];
  if (!first) return null;
  // Start a few words before the first match (looking back a bounded stretch of text).
  const back = Math.max(0, first.start - 256);
  const before = Array.from(text.slice(back, first.start).matchAll(wordPattern), (m) => back + m.index);
  // Near the beginning, the snippet starts with the text itself; otherwise "…" and the few words before the match.
  const fromTextStart = back === 0 && before.length <= leadWords;
  const start = fromTextStart ? 0 : before.length ? Math.min(before[Math.max(0, before.length - leadWords)]!, first.start) : first.start;
  const end = endAfterWords(text, start, snippetWords);
  return render(text, start, end, matchesIn(folded, finder, start, end, false), start > 0, end < text.length || truncated);
}

/** The first words of `text`, for a document whose match is beyond the snippet window or only in its title. */
export function leadOf(text: string, truncated = false): string {
  const end = endAfterWords(text, 0, snippetWords);
  return render(text, 0, end, [], false, end < text.length || truncated);
}

/** Where the `count`-th word from `start` ends (the end of the text when there are fewer). */
function endAfterWords(text: string, start: number, count: number): number {
  wordPattern.lastIndex = start;
  let end = start;
  for (let n = 0; n < count; n++) {
    const m = wordPattern.exec(text);
    if (!m) return text.length - (/\s*$/.exec(text.slice(Math.max(end, text.length - 64)))?.[0].length ?? 0);
    end = m.index + m[0].length;
  }
  // Keep punctuation that closes the last word ("plan." rather than "plan").
  return end + (/^[^\s\p{L}\p{N}]{0,3}/u.exec(text.slice(end, end + 3))?.[0].length ?? 0);
}

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
