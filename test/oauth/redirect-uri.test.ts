/** Redirect URI rules: what may be registered, and the exact match (loopback any port, RFC 8252). */
import { describe, expect, test } from "bun:test";
import { assertRegistrableRedirect, redirectMatches } from "../../src/oauth/redirect-uri.ts";

describe("registration", () => {
  const accepted = ["https://app.example/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:3000/oauth/callback", "cursor://anysphere.cursor-retrieval/oauth/callback", "com.example.app:/callback"];
  test.each(accepted)("accepts %s", (uri) => expect(() => assertRegistrableRedirect(uri)).not.toThrow());
  const refused: [string, RegExp][] = [
    ["http://app.example/cb", /loopback/],
    ["javascript:alert(1)", /forbidden scheme/],
    ["data:text/html,x", /forbidden scheme/],
    ["file:///etc/passwd", /forbidden scheme/],
    ["https://app.example/cb#frag", /fragment/],
    ["https://user:pw@app.example/cb", /credentials/],
    ["/relative/cb", /absolute URL/],
  ];
  test.each(refused)("refuses %s", (uri, message) => expect(() => assertRegistrableRedirect(uri)).toThrow(message));
});

describe("matching", () => {
  const registered = ["https://app.example/cb", "http://127.0.0.1/callback", "http://localhost:4000/cb?x=1"];
  const rows: [string, boolean][] = [
    ["https://app.example/cb", true],
    ["https://app.example/cb/", false],
    ["https://app.example/CB", false],
    ["https://app.example:443/cb?", false],
    ["https://app.example.evil.example/cb", false],
    ["http://127.0.0.1:51234/callback", true],
    ["http://127.0.0.1/callback", true],
    ["http://127.0.0.1:51234/callback/x", false],
    ["http://127.0.0.2:51234/callback", false],
    ["https://127.0.0.1:51234/callback", false],
    ["http://localhost:9/cb?x=1", true],
    ["http://localhost:9/cb?x=2", false],
    ["not a url", false],
  ];
  test.each(rows)("%s → %p", (uri, ok) => expect(redirectMatches(registered, uri)).toBe(ok));
});
