/** The snippet stemmer against SQLite's own `porter` tokenizer: the same stem for every word tried. */
import { expect, test } from "bun:test";
import Database from "libsql";
import { documentGenerator } from "../../bench/text.ts";
import { porterStem } from "../../src/store/tenant/porter.ts";
import { stemStart } from "../../src/store/tenant/snippet.ts";

test("porterStem gives SQLite's stems (Porter's examples and 100 generated documents)", () => {
  const words = new Set(
    "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize probate rate cease controll roll running runs runner syzygy yes toy crying archaeology logical a an".split(" "),
  );
  const next = documentGenerator(3);
  for (let i = 0; i < 100; i++) for (const w of next().content.toLowerCase().match(/[a-z]+/g) ?? []) words.add(w);
  const db = new Database(":memory:");
  db.exec("CREATE VIRTUAL TABLE f USING fts5(x, tokenize='porter ascii'); CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row');");
  const insert = db.prepare("INSERT INTO f(x) VALUES (?)");
  const stem = db.prepare("SELECT term FROM v");
  const differ: string[] = [];
  for (const word of words) {
    db.exec("DELETE FROM f");
    insert.run(word);
    const sqliteStem = (stem.get() as { term: string }).term;
    if (sqliteStem !== porterStem(word)) differ.push(`${word}: sqlite ${sqliteStem}, ours ${porterStem(word)}`);
  }
  db.close();
  expect(words.size).toBeGreaterThan(1000);
  expect(differ).toEqual([]);
  // What the snippet finder relies on: a word begins with stemStart of its stem.
  expect([...words].filter((w) => {
    return !w.startsWith(stemStart(porterStem(w)));
  })).toEqual([]);
});
