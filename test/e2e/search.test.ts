/** Bounded search through the compiled binary: the adversarial repeated-word document, symbols and emoji, query bounds. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Http, type AnyClient } from "../helpers/clients.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let server: ServerProcess;
let attacker: AnyClient;
let victim: AnyClient;

beforeAll(async () => {
  const { dir, bin } = binaryInEmptyDir();
  const attackerKey = run(bin, ["tenant", "add", "attacker", "--json"], { cwd: dir }).json().api_key;
  const victimKey = run(bin, ["tenant", "add", "victim", "--json"], { cwd: dir }).json().api_key;
  server = await startServe(bin, dir);
  attacker = await v2Http(server.url, attackerKey, "modern");
  victim = await v2Http(server.url, victimKey, "modern");
  for (const [title, content] of [
    ["Launch", "Lift-off 🚀 at dawn"],
    ["Cpp", "The C++ build"],
    ["C only", "Plain C code, the build"],
    ["Hashtag", "Filed under #release"],
    ["Release", "The release is out"],
  ]) {
    await victim.callTool("create_document", { title, content });
  }
});
afterAll(async () => {
  await attacker?.close();
  await victim?.close();
  await server?.stop();
  cleanupTempDirs();
});

const search = async (client: AnyClient, query: string, limit = 10) => {
  const result = await client.callTool("search_documents", { query, limit });
  return result.isError ? { error: result.content[0].text as string } : (result.structuredContent as { results: { id: string; title: string; snippet: string }[]; count: number });
};

describe("search through the binary", () => {
  test("64 KiB of one repeated word: the search answers with a 16-word snippet, and the other tenant is served", async () => {
    const doc = (await attacker.callTool("create_document", { title: "Repeated", content: "a ".repeat(32 * 1024) })).structuredContent;
    const found = await search(attacker, "a", 1);
    expect(found).toMatchObject({ count: 1, results: [{ id: doc.id, snippet: `${Array(16).fill("**a**").join(" ")}…` }] });
    await victim.callTool("create_document", { title: "Victim note", content: "unrelated text" });
    expect(await search(victim, "unrelated")).toMatchObject({ count: 1, results: [{ title: "Victim note" }] });
    expect(await search(victim, "a")).toMatchObject({ count: 0 });
  });

  test.each([
    ["🚀", ["Launch"]],
    ["C++", ["Cpp"]],
    ["#release", ["Hashtag"]],
  ])("%s matches the documents containing it, highlighted", async (query, titles) => {
    const found = await search(victim, query);
    expect("results" in found && found.results.map((r) => r.title)).toEqual(titles);
    expect("results" in found && found.results[0]!.snippet).toContain(`**${query}**`);
  });

  test.each([
    ["a 1-character prefix", "b*", "prefix search needs at least 2 letters or digits before *"],
    ["17 words", Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "), "query has 17 terms; at most 16 are allowed"],
  ])("%s is a tool error naming the limit", async (_name, query, message) => {
    const found = await search(victim, query);
    expect("error" in found && found.error).toContain(message);
  });
});
