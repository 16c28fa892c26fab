/**
 * Deterministic, varied document text for the benchmark: a ranked vocabulary (English stop words, then real
 * content words interleaved with generated pseudo-words as a long tail) sampled with a Zipf distribution,
 * so the FTS index has realistic term frequencies: a few very common words, many moderately common ones
 * and a long tail of rare ones.
 */

/** mulberry32: small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stopWords = (
  "the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you were " +
  "her she there would their we him been has when who will more no if out so said what up its about into than them can only"
).split(" ");

const contentWords = [
  ...new Set(
    (
  "account action address agenda agreement alert analysis answer approval archive article asset audit author backup balance " +
  "bandwidth baseline batch benchmark billing board branch broker budget buffer bug build bundle cache calendar campaign " +
  "capacity catalog certificate change channel chapter checklist client cluster column comment commit compliance component " +
  "config connection console contract cookie coverage credit customer dashboard database deadline debug decision default " +
  "delivery dependency deploy design detail device diagram digest directory discount dispatch document domain draft driver " +
  "editor email employee endpoint engine estimate event evidence exception expense export feature feedback field filter " +
  "finance firewall folder forecast format framework function gateway glossary goal grant graph guide handler hardware " +
  "header health hint history holiday hosting identity image incident index inventory invoice issue journal kernel keyboard " +
  "label latency launch layout ledger license limit listing lobby locale lockfile logistics mailbox manifest margin market " +
  "meeting memory mentor message metric migration milestone mirror mobile model module monitor network notebook notice " +
  "office onboarding operator option order outage owner package packet page partner password patch payment payroll " +
  "permission pipeline planning platform plugin policy portal posture preview pricing printer priority privacy procedure " +
  "process product profile project prompt proposal protocol prototype provider purchase quality quarter query queue quota " +
  "rate receipt record recovery refund region registry release renewal replica report request research reservation resource " +
  "response retention review revenue risk roadmap rollback rollout router runbook salary sample sandbox schedule schema scope " +
  "screen script search secret section security segment sensor server service session shipment signal sketch snapshot " +
  "socket software source spreadsheet sprint staging standup statement storage strategy stream subscription summary " +
  "supplier support survey switch symbol syntax system table target task team template tenant terminal testing theme " +
  "thread ticket timeline token topic tracker traffic training transfer translation trigger tutorial upgrade upload usage " +
  "user vacation validation vendor version video viewer volume voucher warehouse warning webhook widget window wizard " +
  "workflow workshop workspace zone accurate annual automatic brief careful central clear complete critical current daily " +
  "direct early efficient external final formal global helpful internal legacy local manual minor monthly native optional " +
  "partial pending primary private public quick recent regular remote robust secure shared simple stable steady strict " +
  "temporary urgent useful valid visible weekly analyze approve assign attach calculate cancel confirm create deliver " +
  "disable enable estimate fix handle improve inspect install measure merge notify publish reduce remove renew resolve " +
  "restore retry schedule share ship sign submit track transfer update verify"
    ).split(" "),
  ),
];

const syllables = "ka lo mi ne ru ta vi so pe da fo gu ri ze mo ba li cu te xa ny jo qui ste bre tra plo gri vel dor man sen tor".split(" ");

/** The ranked vocabulary: index 0 is the most frequent word. */
export function vocabulary(size = 12_000, seed = 7): string[] {
  const next = rng(seed);
  const seen = new Set<string>([...stopWords, ...contentWords]);
  const pseudo = () => {
    for (;;) {
      const n = 2 + Math.floor(next() * 3);
      let w = "";
      for (let i = 0; i < n; i++) w += syllables[Math.floor(next() * syllables.length)];
      if (!seen.has(w)) {
        seen.add(w);
        return w;
      }
    }
  };
  const words = [...stopWords];
  // One real word, then two pseudo-words: real words span ranks ~60 to ~1,300 (in 10% down to ~1% of documents).
  for (const word of contentWords) words.push(word, pseudo(), pseudo());
  while (words.length < size) words.push(pseudo());
  return words;
}

/** Samples ranks with probability proportional to 1/(rank+1)^s, by binary search on the cumulative weights. */
export function zipfSampler(n: number, s: number, next: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const x = next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const tagPool = "ops finance design legal draft internal customer roadmap meeting spec research hr security sales support".split(" ");

export type GeneratedDocument = { title: string; content: string; tags: string[] };

/** A deterministic stream of documents: titles of 3-7 words, 40-260 words of content in sentences and paragraphs. */
export function documentGenerator(seed: number): () => GeneratedDocument {
  const next = rng(seed);
  const words = vocabulary();
  const pick = zipfSampler(words.length, 1.0, next);
  const word = () => words[pick()]!;
  const between = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  // Titles lean on content words: skip the stop-word ranks.
  const titleWord = () => {
    for (;;) {
      const r = pick();
      if (r >= stopWords.length) return words[r]!;
    }
  };
  return () => {
    const title = Array.from({ length: between(3, 7) }, () => cap(titleWord())).join(" ");
    const total = between(40, 260);
    const paragraphs: string[] = [];
    let sentences: string[] = [];
    let written = 0;
    while (written < total) {
      const n = Math.min(between(6, 18), total - written);
      const s = Array.from({ length: n }, word);
      s[0] = cap(s[0]!);
      sentences.push(`${s.join(" ")}${next() < 0.1 ? "?" : "."}`);
      written += n;
      if (sentences.length >= between(3, 6)) {
        paragraphs.push(sentences.join(" "));
        sentences = [];
      }
    }
    if (sentences.length) paragraphs.push(sentences.join(" "));
    if (next() < 0.3) paragraphs.unshift(`## ${cap(titleWord())} ${titleWord()}`);
    const tags = [...new Set(Array.from({ length: between(0, 3) }, () => tagPool[Math.floor(next() * tagPool.length)]!))];
    return { title, content: paragraphs.join("\n\n"), tags };
  };
}

/** Real content words (candidates for the search benchmark's query). */
export const realWords: readonly string[] = contentWords;
