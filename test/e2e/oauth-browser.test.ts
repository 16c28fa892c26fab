/**
 * The OAuth pages in a real browser (headless Chromium from the Debian package, driven by playwright-core):
 * the SDK v2 client's flow with the sign-in and consent pages clicked through, the connected-apps page's
 * revoke button, an error page; each page checked at phone and desktop width. With UPDATE_SCREENSHOTS=1 the
 * screenshots are written to docs/ (the README shows them), else to a temporary directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Server } from "bun";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { binaryInEmptyDir, root, run } from "../helpers/binary.ts";
import { callTool } from "../helpers/oauth-protocol.ts";
import { MemoryOAuthProvider } from "../helpers/oauth-provider.ts";
import { startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

const executable = Bun.which("chromium") ?? Bun.which("chromium-browser");
const shots = process.env.UPDATE_SCREENSHOTS === "1" ? join(root, "docs") : tempDir("oauth-shots-");
const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;

let dir: string;
let bin: string;
let server: ServerProcess;
let password: string;
let browser: Browser;
let callback: Server<undefined>;
const received: URL[] = [];
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

beforeAll(async () => {
  if (!executable) return;
  ({ dir, bin } = binaryInEmptyDir());
  mt("tenant", "add", "acme");
  password = mt("member", "add", "acme", "alice@acme.example", "--role", "admin", "--json").json().password;
  server = await startServe(bin, dir);
  // The app's loopback redirect target, as a desktop client runs one.
  callback = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => (received.push(new URL(request.url)), new Response("You can close this tab.")) });
  browser = await chromium.launch({ executablePath: executable, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
});
afterAll(async () => {
  await browser?.close();
  callback?.stop(true);
  await server?.stop();
  cleanupTempDirs();
});

/** Screenshots of the page at both widths; also checks the page fits a phone (no horizontal scrolling). */
async function capture(page: Page, name: string): Promise<void> {
  for (const [label, size] of Object.entries(widths)) {
    await page.setViewportSize(size);
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, `oauth-${name}-${label}.png`), fullPage: true });
  }
}

async function newPage(): Promise<{ context: BrowserContext; page: Page; violations: string[] }> {
  const context = await browser.newContext({ viewport: widths.phone });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  return { context, page, violations };
}

describe.skipIf(!executable)("the OAuth pages in headless Chromium", () => {
  const provider = new MemoryOAuthProvider("", "Browser Test App");

  test("sign-in and consent in the browser complete the SDK v2 client's flow", async () => {
    Object.defineProperty(provider, "redirectUrl", { get: () => `http://127.0.0.1:${callback.port}/callback` });
    (provider as { redirect: string }).redirect = `http://127.0.0.1:${callback.port}/callback`;
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
    await new Client({ name: "browser-e2e", version: "1.0.0" }).connect(transport).catch(() => undefined);
    expect(provider.authorizationUrl).not.toBeNull();

    const { context, page, violations } = await newPage();
    await page.goto(provider.authorizationUrl!.toString());
    await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true);
    // The same-origin stylesheet applied (the CSP allows it, and nothing inline).
    expect(await page.evaluate('getComputedStyle(document.querySelector("button")).borderRadius')).toBe("8px");
    await capture(page, "sign-in");
    await page.setViewportSize(widths.phone);
    await page.getByLabel("Email").fill("alice@acme.example");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/oauth\/consent/);
    expect(await page.textContent("h1")).toBe("Allow Browser Test App?");
    expect(await page.locator('input[name="scope"]').count()).toBe(3);
    await capture(page, "consent");
    await page.setViewportSize(widths.phone);
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(/127\.0\.0\.1:\d+\/callback/);
    expect(violations).toEqual([]);
    await context.close();

    const back = received.filter((u) => u.pathname === "/callback").at(-1)!;
    expect(back.searchParams.get("error")).toBeNull();
    expect(back.searchParams.get("code")).toBeTruthy();
    await transport.finishAuth(back.searchParams);
    const client = new Client({ name: "browser-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider }));
    expect((await client.callTool({ name: "create_document", arguments: { title: "via Chromium", content: "clicked through" } })).isError).toBeFalsy();
    await client.close();
  });

  test("the connected-apps page lists the app and its revoke button ends access", async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.origin}/oauth/apps`);
    await page.getByLabel("Email").fill("alice@acme.example");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(/\/oauth\/apps/);
    expect(await page.locator("ul.apps li").count()).toBe(1);
    expect(await page.locator("ul.apps li strong").textContent()).toBe("Browser Test App");
    await capture(page, "apps");
    await page.getByRole("button", { name: "Revoke Browser Test App" }).click();
    await page.waitForURL(/notice=revoked/);
    expect(await page.locator("ul.apps li").count()).toBe(0);
    await context.close();
    await Bun.sleep(1_100);
    expect((await callTool(server.url, provider.savedTokens.access_token, "list_documents")).status).toBe(401);
  });

  test("a one-time sign-in link, and the second-factor step, in the browser", async () => {
    const link = mt("member", "link", "alice@acme.example", "--json").json().url as string;
    const { context, page } = await newPage();
    const local = new URL(link);
    await page.goto(`${server.origin}${local.pathname}${local.search}`);
    await capture(page, "link");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(/\/oauth\/apps/);
    expect(await page.textContent("h1")).toBe("Connected apps");
    await context.close();

    const second = run(bin, ["member", "add", "acme", "totp@acme.example", "--password-stdin"], { cwd: dir, stdin: "a long enough password\n" });
    expect(second.code).toBe(0);
    expect(mt("member", "totp", "totp@acme.example").code).toBe(0);
    const other = await newPage();
    await other.page.goto(`${server.origin}/oauth/apps`);
    await other.page.getByLabel("Email").fill("totp@acme.example");
    await other.page.getByLabel("Password").fill("a long enough password");
    await other.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await other.page.waitForSelector("#code");
    expect(await other.page.textContent("h1")).toBe("Authentication code");
    await capture(other.page, "code");
    await other.context.close();
  });

  test("an error page (redirect mismatch) is readable at both widths and sends the browser nowhere", async () => {
    const { context, page } = await newPage();
    const url = new URL(provider.authorizationUrl!);
    url.searchParams.set("redirect_uri", "https://evil.example/steal");
    const response = await page.goto(url.toString());
    expect(response!.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(server.origin);
    expect(await page.textContent("h1")).toBe("Redirect address mismatch");
    await capture(page, "error");
    await context.close();
  });
});
