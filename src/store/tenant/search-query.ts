/**
 * Search queries: from user text to an FTS5 query whose cost has a known bound, plus the literal (symbol)
 * terms the word index cannot see. Any text is safe: every term is quoted, so FTS5 syntax is plain text.
 */
import { invalidInput } from "../../errors.ts";
import { porterStem } from "./porter.ts";

/** The bounds every search stays within; the README's search section explains each. */
export const searchBounds = {
  /** Terms (whitespace-separated words) in one query. */
  maxTerms: 16,
  /** Letters or digits before a `*`: 2- and 3-character prefixes are FTS5 prefix indexes (migration 0003). */
  minPrefixChars: 2,
  /**
   * A word (or prefix) matching at least this many documents is "common": bm25 would read its whole list of
   * documents to count them. Queries with a rarer word are ranked by their rare words only (the common ones
   * still filter); queries of common words only rank the newest this many matches.
   */
  candidates: 2000,
  /** Ranked matches checked for literal terms, best first: each check reads up to `literalWindowChars` of a document. */
  literalCandidates: 500,
  /** Characters of a document's content (after its title) a literal term is looked for in (its beginning). */
  literalWindowChars: 65_536,
  /** Characters of one literal term: LIKE costs grow with the pattern's length. */
  maxLiteralChars: 64,
  /** A query of symbols only (no letters or digits) scans the newest documents up to this many bytes of text. */
  scanBytes: 8 * 1024 * 1024,
  /** Characters of a document's content a snippet is looked for in (its beginning). */
  snippetWindowChars: 4096,
} as const;

/** One query term, as the snippet builder needs it. */
export type SearchTerm = {
  /** Folded (lower-case, no diacritics) words of the term, stemmed like the index; the last is a prefix when `prefix`. */
  words: string[];
  prefix: boolean;
  /** The term as typed when it carries symbols the index drops (`C++`, `#tag`, `🚀`): it must appear as written. */
  literal: string | null;
};

export type SearchQuery = {
  /** The FTS5 MATCH expression over the terms' words, or null when no term has a letter or digit. */
  fts: string | null;
  /** The quoted FTS5 phrase of each term that has words (fts is these, ANDed). */
  phrases: string[];
  terms: SearchTerm[];
  literals: string[];
};

/** Runs of the characters the unicode61 tokenizer keeps (letters, digits, private use; marks fold away). */
const wordPattern = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;
/** Characters that make a term literal: symbols (math, currency, emoji, …) and a few signs people search for. */
const literalPattern = /[\p{S}#@%&]/u;
/** Punctuation around a term that belongs to the sentence, not to what is searched ("C++," or "(🚀)"). */
const edgePunctuation = /^["'“”‘’«»()[\]{}.,;:!?]+|["'“”‘’«»()[\]{}.,;:!?]+$/gu;

/** Lower case without diacritics, as `unicode61 remove_diacritics 2` folds a token. */
export const foldWord = (word: string) => word.toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");

/** The words of a piece of text, as the index sees them (folded, unstemmed). */
export const wordsOf = (text: string) => Array.from(text.matchAll(wordPattern), (m) => foldWord(m[0])).filter((w) => w.length > 0);

/**
 * Parses user text into a bounded query. Terms are ANDed; `word*` is a prefix search (at least
 * `minPrefixChars` letters or digits); a term with symbols must also appear literally. Throws a tool-facing
 * error naming the limit when the query is out of bounds or has nothing to search for.
 */
export function parseSearchQuery(text: string): SearchQuery {
  const phrases: string[] = [];
  const terms: SearchTerm[] = [];
  for (const raw of text.split(/\s+/)) {
    const cleaned = raw.replace(/[\u0000-\u001f\u007f]/g, "");
    const prefix = cleaned.endsWith("*");
    const term = cleaned.replace(/\*+$/, "");
    const words = wordsOf(term);
    const literalText = term.replace(edgePunctuation, "");
    const literal = literalPattern.test(literalText) ? literalText : null;
    if (words.length === 0 && literal === null) continue;
    if (literal !== null && [...literal].length > searchBounds.maxLiteralChars) {
      throw invalidInput(`a term with symbols can be at most ${searchBounds.maxLiteralChars} characters: "${literal.slice(0, 40)}…" is longer`);
    }
    // A literal term already matches anywhere inside the text, so its `*` adds nothing.
    const isPrefix = prefix && literal === null;
    if (isPrefix && [...words.at(-1)!].length < searchBounds.minPrefixChars) {
      throw invalidInput(`prefix search needs at least ${searchBounds.minPrefixChars} letters or digits before *: "${raw.slice(0, 40)}" has fewer`);
    }
    if (words.length) phrases.push(`"${term.replaceAll('"', '""')}"${isPrefix ? "*" : ""}`);
    terms.push({ words: isPrefix ? [...words.slice(0, -1).map(porterStem), words.at(-1)!] : words.map(porterStem), prefix: isPrefix, literal });
  }
  if (terms.length > searchBounds.maxTerms) {
    throw invalidInput(`query has ${terms.length} terms; at most ${searchBounds.maxTerms} are allowed: drop the least specific words`);
  }
  if (terms.length === 0) throw invalidInput("query has no searchable words: use letters or digits");
  return { fts: phrases.length ? phrases.join(" ") : null, phrases, terms, literals: terms.flatMap((t) => (t.literal === null ? [] : [t.literal])) };
}

/** A LIKE pattern (with ESCAPE '\') that finds `literal` anywhere, ASCII case-insensitively as SQLite's LIKE does. */
export const likePattern = (literal: string) => `%${literal.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
