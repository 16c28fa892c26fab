/**
 * The browser step of the OAuth flow, driven with plain HTTP: a cookie jar, the forms' hidden fields (CSRF token,
 * request id) read from the served HTML, each form posted as a browser would. No browser needed.
 */
export type PageResponse = { status: number; url: string; html: string; location: string | null };

export class PlainBrowser {
  readonly cookies = new Map<string, string>();

  async get(url: string): Promise<PageResponse> {
    return this.#send(url, { method: "GET" });
  }

  async post(url: string, fields: [string, string][]): Promise<PageResponse> {
    const body = new URLSearchParams(fields);
    return this.#send(url, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin } });
  }

  /** Follows same-site redirects; stops at (and returns) a redirect to another origin, such as the app's callback. */
  async follow(response: PageResponse, origin: string): Promise<PageResponse> {
    let current = response;
    while (current.location) {
      const next = new URL(current.location, current.url);
      if (next.origin !== origin) return current;
      current = await this.get(next.toString());
    }
    return current;
  }

  async #send(url: string, init: RequestInit): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, url, html: await response.text(), location: response.headers.get("location") };
  }
}

/** The hidden and named fields of the n-th form posting to `action` (enough for our server-rendered forms). */
export function formFields(html: string, action: string, nth = 0): [string, string][] {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].filter((m) => m[1] === action);
  const form = forms[nth];
  if (!form) throw new Error(`no form posting to ${action} in:\n${html.slice(0, 2000)}`);
  const fields: [string, string][] = [];
  for (const input of form[2]!.matchAll(/<input([^>]*)>/g)) {
    const attrs = input[1]!;
    const name = /name="([^"]*)"/.exec(attrs)?.[1];
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? "";
    const type = /type="([^"]*)"/.exec(attrs)?.[1] ?? "text";
    if (!name) continue;
    if (type === "checkbox" && !/\schecked/.test(attrs)) continue;
    if (type === "hidden" || type === "checkbox") fields.push([name, decode(value)]);
  }
  return fields;
}

const decode = (text: string) => text.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

export type SignIn = { email: string; password: string } | { apiKey: string };

/**
 * From an authorization URL to the app's callback URL: sign in (if needed), consent with the given scopes
 * (all offered when omitted). Returns the redirect the browser would follow back to the app.
 */
export async function authorizeInBrowser(browser: PlainBrowser, authorizationUrl: string, who: SignIn, options: { scopes?: string[]; decision?: "allow" | "deny"; onConsent?: (html: string) => void } = {}): Promise<URL> {
  const origin = new URL(authorizationUrl).origin;
  let page = await browser.get(authorizationUrl);
  if (page.location) return new URL(page.location);
  if (page.html.includes('action="/oauth/sign-in"')) {
    const fields = formFields(page.html, "/oauth/sign-in", "apiKey" in who ? 1 : 0);
    if ("apiKey" in who) fields.push(["api_key", who.apiKey]);
    else fields.push(["email", who.email], ["password", who.password]);
    page = await browser.follow(await browser.post(`${origin}/oauth/sign-in`, fields), origin);
  }
  if (!page.html.includes('action="/oauth/consent"')) throw new Error(`expected the consent page, got ${page.status}:\n${page.html.slice(0, 1500)}`);
  options.onConsent?.(page.html);
  let fields = formFields(page.html, "/oauth/consent");
  if (options.scopes) fields = [...fields.filter(([k]) => k !== "scope"), ...options.scopes.map((s): [string, string] => ["scope", s])];
  fields.push(["decision", options.decision ?? "allow"]);
  const done = await browser.post(`${origin}/oauth/consent`, fields);
  if (!done.location) throw new Error(`consent did not redirect: ${done.status}\n${done.html.slice(0, 1500)}`);
  return new URL(done.location);
}
