/** @jsxImportSource hono/jsx */
/**
 * The browser side: /oauth/authorize, sign-in, consent, connected apps, one-time links, sign-out. No script;
 * every form carries a CSRF token bound to the session cookie; errors that cannot go back to the app are pages.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { JSX } from "hono/jsx/jsx-runtime";
import { allScopes, type Scope } from "../auth/scopes.ts";
import { AppError } from "../errors.ts";
import type { AuthorizationServer } from "./authorization-server.ts";
import { scopesOfRole, type Role } from "./members.ts";
import { AppsPage } from "./pages/apps.tsx";
import { ConsentPage } from "./pages/consent.tsx";
import { ErrorPage } from "./pages/error.tsx";
import { LinkPage } from "./pages/link.tsx";
import { SignInPage, TotpPage } from "./pages/sign-in.tsx";
import { matchTotp } from "./totp.ts";
import { redirectMatches } from "./redirect-uri.ts";
import type { AuthRequest, Session, Signer } from "./sessions.ts";
import type { MemberRow } from "../store/control/schema.ts";
import { oauthPaths } from "./settings.ts";

const baseCsp = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The CSP source a form may be redirected to after submission (Chrome applies form-action to the redirect). */
function formTarget(uri: string): string {
  const url = new URL(uri);
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin : url.protocol;
}

/**
 * The lockout counts per account and password: `member reset` (a new hash) starts a fresh count, so the operator
 * can unlock someone from the CLI without reaching into the server's memory.
 */
const lockoutKey = (member: MemberRow) => `${member.id}:${member.passwordHash?.slice(-16) ?? ""}`;

/** Where the app returns to, as the consent page shows it: the origin, or scheme and host of an app link. */
function shownTarget(uri: string): string {
  const url = new URL(uri);
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin : `${url.protocol}//${url.host}${url.pathname}`;
}

export function browserRoutes(as: AuthorizationServer, clientAddress: (c: Context) => string): Hono {
  const routes = new Hono();
  const secure = () => as.issuer().startsWith("https://");
  const cookieName = () => (secure() ? "__Host-mcpmt_session" : "mcpmt_session");

  const page = (c: Context, status: number, body: JSX.Element, formAction = "'self'") => {
    c.header("content-security-policy", `${baseCsp}; form-action ${formAction}`);
    c.header("cache-control", "no-store");
    // same-origin, not no-referrer: with no-referrer Chrome sends `Origin: null` on form posts, which the
    // Origin check must refuse; the app (another origin) still gets no Referer.
    c.header("referrer-policy", "same-origin");
    return c.html(body, status as 200);
  };
  const errorPage = (c: Context, status: number, title: string, message: string) => page(c, status, <ErrorPage title={title} message={message} />);

  const setSession = (c: Context, session: Session) =>
    setCookie(c, cookieName(), session.id, { path: "/", httpOnly: true, sameSite: "Lax", secure: secure(), maxAge: Math.floor(as.durations.sessionMs / 1000) });
  const sessionOf = (c: Context) => as.sessions.get(getCookie(c, cookieName()));
  const ensureSession = async (c: Context) => {
    const existing = await sessionOf(c);
    if (existing) return existing;
    const session = await as.sessions.create();
    setSession(c, session);
    return session;
  };

  /** Back to the app with an error (only once the redirect URI is known to be the client's). */
  const redirectError = (c: Context, request: Pick<AuthRequest, "redirectUri" | "state">, error: string, description: string) => {
    const url = new URL(request.redirectUri);
    url.searchParams.set("error", error);
    url.searchParams.set("error_description", description);
    if (request.state !== null) url.searchParams.set("state", request.state);
    url.searchParams.set("iss", as.issuer());
    return c.redirect(url.toString(), 303);
  };

  const signInPage = (c: Context, session: Session, requestId: string | null, status = 200, error: string | null = null, email = "") => {
    const request = requestId ? as.sessions.request(session, requestId) : null;
    return page(c, status, <SignInPage csrf={as.sessions.csrfToken(session)} request={requestId} clientName={request?.clientName ?? null} error={error} email={email} />);
  };

  const consentPage = async (c: Context, session: Session, requestId: string) => {
    const request = as.sessions.request(session, requestId);
    if (!request) return errorPage(c, 400, "This request expired", "The sign-in request is unknown or older than 10 minutes.");
    const signer = session.signer!;
    const scopes = request.scopes.filter((s) => signer.maxScopes.includes(s));
    if (scopes.length === 0) return redirectError(c, request, "invalid_scope", "the signed-in account may grant none of the requested scopes");
    return page(
      c,
      200,
      <ConsentPage csrf={as.sessions.csrfToken(session)} request={requestId} clientName={request.clientName} clientHost={request.clientHost} redirectHost={shownTarget(request.redirectUri)} tenant={signer.tenantId} signer={signer.label} scopes={scopes} />,
      `'self' ${formTarget(request.redirectUri)}`,
    );
  };

  /** Where to go once signed in: the pending request's consent, else the connected apps. */
  const afterSignIn = (c: Context, session: Session, requestId: string | null) => {
    if (requestId && as.sessions.request(session, requestId)) return c.redirect(`${oauthPaths.consent}?request=${encodeURIComponent(requestId)}`, 303);
    return c.redirect(oauthPaths.apps, 303);
  };

  routes.get(oauthPaths.authorize, async (c) => {
    const q = c.req.query();
    if (!q.client_id) return errorPage(c, 400, "Unknown app", "The request names no client_id.");
    let client;
    try {
      client = await as.clients.resolve(q.client_id);
    } catch (error) {
      if (error instanceof AppError) return errorPage(c, 400, "Unknown app", error.message);
      throw error;
    }
    if (!client) return errorPage(c, 400, "Unknown app", "This app is not registered here (its registration may have expired). Reconnect from the app.");
    let redirectUri = q.redirect_uri;
    if (!redirectUri) {
      if (client.redirectUris.length !== 1) return errorPage(c, 400, "Redirect address missing", "The app must say where to return (redirect_uri).");
      redirectUri = client.redirectUris[0]!;
    }
    // Never redirect to an address the client did not register: that would make this server an open redirector.
    if (!redirectMatches(client.redirectUris, redirectUri)) return errorPage(c, 400, "Redirect address mismatch", "The app asked to return to an address it did not register. Nothing was sent to it.");
    const base = { redirectUri, state: q.state ?? null };
    if (q.response_type !== "code") return redirectError(c, base, "unsupported_response_type", "response_type must be code");
    if (!q.code_challenge) return redirectError(c, base, "invalid_request", "code_challenge is required (PKCE)");
    if (q.code_challenge_method !== "S256") return redirectError(c, base, "invalid_request", "code_challenge_method must be S256");
    if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) return redirectError(c, base, "invalid_request", "code_challenge is not a base64url SHA-256 digest");
    const resource = q.resource ?? as.resource();
    if (resource !== as.resource()) return redirectError(c, base, "invalid_target", `this server issues tokens only for ${as.resource()}`);
    // offline_access (2026-07-28 clients may ask for refresh tokens by it) is granted implicitly: every grant has one.
    const asked = (q.scope ?? "").split(" ").filter((s) => s && s !== "offline_access");
    const unknown = asked.filter((s) => !(allScopes as readonly string[]).includes(s));
    if (unknown.length) return redirectError(c, base, "invalid_scope", `unknown scope ${unknown.join(" ")}; known: ${allScopes.join(" ")}`);
    const scopes = (asked.length ? asked : [...allScopes]) as Scope[];
    const session = await ensureSession(c);
    const requestId = await as.sessions.addRequest(session, { clientId: client.id, clientName: client.name, clientHost: client.host, redirectUri, state: base.state, codeChallenge: q.code_challenge, resource, scopes });
    if (session.signer) return consentPage(c, session, requestId);
    return signInPage(c, session, requestId);
  });

  routes.post(oauthPaths.signIn, async (c) => {
    const form = await c.req.parseBody();
    const session = await sessionOf(c);
    if (!session || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid (the page was open too long, or it did not come from this site). Start again from the app.");
    const requestId = typeof form.request === "string" ? form.request : null;
    const address = `signin:${clientAddress(c)}`;
    const perMinute = as.config.limits.auth_failures_per_minute;
    if (as.limiter.consumeNow(address, perMinute, 60_000, 0).remaining <= 0) return signInPage(c, session, requestId, 429, "Too many failed sign-ins from this address; wait a minute.");
    const fail = (message: string, email = "") => {
      as.limiter.consumeNow(address, perMinute, 60_000, 1);
      return signInPage(c, session, requestId, 401, message, email);
    };
    let signer: Signer;
    if (form.method === "api_key") {
      const key = typeof form.api_key === "string" ? form.api_key.trim() : "";
      let row;
      try {
        row = await as.apiKeys.verify(key);
      } catch {
        return fail("That API key is not valid.");
      }
      signer = { tenantId: row.tenantId, subject: `key:${row.id}`, label: `API key ${row.prefix}`, maxScopes: row.scopes as Scope[], admin: false };
    } else {
      const email = typeof form.email === "string" ? form.email.trim().toLowerCase() : "";
      const password = typeof form.password === "string" ? form.password : "";
      const candidates = await as.members.byEmail(email);
      const locks = await Promise.all(candidates.map((m) => as.lockout.lockedFor(lockoutKey(m))));
      const open = candidates.filter((_, i) => locks[i] === 0);
      if (candidates.length > 0 && open.length === 0) {
        as.limiter.consumeNow(address, perMinute, 60_000, 1);
        const minutes = Math.ceil(Math.max(...locks) / 60_000);
        return signInPage(c, session, requestId, 423, `This account is locked after too many wrong passwords; try again in ${minutes} min or ask the operator for a sign-in link.`, email);
      }
      const member = await as.members.checkPassword(open, password);
      if (!member) {
        await Promise.all(open.map((m) => as.lockout.failed(lockoutKey(m))));
        return fail("Wrong email or password.", email);
      }
      if (member.totpSecret) {
        await as.sessions.setPendingTotp(session, { memberId: member.id, requestId, expiresAt: as.clock() + 5 * 60_000 });
        return page(c, 200, <TotpPage csrf={as.sessions.csrfToken(session)} error={null} />);
      }
      await as.lockout.succeeded(lockoutKey(member));
      signer = { tenantId: member.tenantId, subject: `member:${member.id}`, label: member.email, maxScopes: scopesOfRole(member.role as Role), admin: member.role === "admin" };
    }
    const tenant = await as.tenants.find(signer.tenantId);
    if (!tenant) return fail("That account's tenant no longer exists.");
    if (tenant.status === "suspended") return signInPage(c, session, requestId, 403, `Tenant ${tenant.id} is suspended; contact the server's operator.`);
    const next = await as.sessions.signIn(session, signer);
    setSession(c, next);
    void as.audit.append({ actor: `oauth:${signer.subject}`, tenantId: signer.tenantId, action: "oauth.signed_in", client: clientAddress(c), details: { method: form.method === "api_key" ? "api_key" : "password" } }).catch(() => undefined);
    return afterSignIn(c, next, requestId);
  });

  // Second step: the TOTP code. Wrong codes count towards the account's lockout like wrong passwords; a code
  // is accepted once (a replayed code is refused).
  routes.post(`${oauthPaths.signIn}/code`, async (c) => {
    const form = await c.req.parseBody();
    const session = await sessionOf(c);
    if (!session || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid. Start again from the app.");
    const pending = session.pendingTotp;
    if (!pending || !as.sessions.totpPending(session)) return signInPage(c, session, pending?.requestId ?? null, 400, "The sign-in took too long; enter your password again.");
    const member = await as.members.find(pending.memberId);
    if (!member?.totpSecret) return signInPage(c, session, pending.requestId, 400, "Sign in again.");
    if ((await as.lockout.lockedFor(lockoutKey(member))) > 0) {
      await as.sessions.setPendingTotp(session, undefined);
      return signInPage(c, session, pending.requestId, 423, "This account is locked after too many wrong attempts; try again later or ask the operator for a sign-in link.");
    }
    const step = matchTotp(member.totpSecret, typeof form.code === "string" ? form.code.trim() : "", as.clock());
    if (step === null || !(await as.totpSteps.claim(member.id, step))) {
      await as.lockout.failed(lockoutKey(member));
      as.limiter.consumeNow(`signin:${clientAddress(c)}`, as.config.limits.auth_failures_per_minute, 60_000, 1);
      return page(c, 401, <TotpPage csrf={as.sessions.csrfToken(session)} error="That code is not valid (or was already used)." />);
    }
    await as.lockout.succeeded(lockoutKey(member));
    const tenant = await as.tenants.find(member.tenantId);
    if (!tenant || tenant.status === "suspended") return errorPage(c, 403, "Tenant suspended", "This tenant is suspended; contact the server's operator.");
    const next = await as.sessions.signIn(session, { tenantId: member.tenantId, subject: `member:${member.id}`, label: member.email, maxScopes: scopesOfRole(member.role as Role), admin: member.role === "admin" });
    setSession(c, next);
    void as.audit.append({ actor: `oauth:member:${member.id}`, tenantId: member.tenantId, action: "oauth.signed_in", client: clientAddress(c), details: { method: "password+totp" } }).catch(() => undefined);
    return afterSignIn(c, next, pending.requestId);
  });

  routes.get(oauthPaths.consent, async (c) => {
    const session = await sessionOf(c);
    const requestId = c.req.query("request") ?? null;
    if (!session) return errorPage(c, 400, "Session expired", "Start again from the app.");
    if (!session.signer) return signInPage(c, session, requestId);
    if (!requestId) return c.redirect(oauthPaths.apps, 303);
    return consentPage(c, session, requestId);
  });

  routes.post(oauthPaths.consent, async (c) => {
    const form = await c.req.parseBody({ all: true });
    const session = await sessionOf(c);
    if (!session?.signer || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid (the page was open too long, or it did not come from this site). Start again from the app.");
    const requestId = typeof form.request === "string" ? form.request : "";
    const request = as.sessions.request(session, requestId);
    if (!request) return errorPage(c, 400, "This request expired", "The sign-in request is unknown or older than 10 minutes. Start again from the app.");
    await as.sessions.removeRequest(session, requestId);
    if (form.decision !== "allow") return redirectError(c, request, "access_denied", "the user denied access");
    const signer = session.signer;
    const ticked = ([] as unknown[]).concat(form.scope ?? []).filter((s): s is string => typeof s === "string");
    // Narrowing only: what was asked, what the signer may grant, and what stayed ticked.
    const scopes = request.scopes.filter((s) => signer.maxScopes.includes(s) && ticked.includes(s));
    if (scopes.length === 0) return redirectError(c, request, "access_denied", "no scope was granted");
    const code = await as.codes.issue({ clientId: request.clientId, clientName: request.clientName, redirectUri: request.redirectUri, codeChallenge: request.codeChallenge, resource: request.resource, tenantId: signer.tenantId, subject: signer.subject, scopes });
    const url = new URL(request.redirectUri);
    url.searchParams.set("code", code);
    if (request.state !== null) url.searchParams.set("state", request.state);
    url.searchParams.set("iss", as.issuer());
    return c.redirect(url.toString(), 303);
  });

  routes.get(oauthPaths.apps, async (c) => {
    const session = await ensureSession(c);
    if (!session.signer) return signInPage(c, session, null);
    return appsPage(c, session, c.req.query("notice") === "revoked" ? "Access revoked." : null);
  });

  const appsPage = async (c: Context, session: Session, notice: string | null) => {
    const signer = session.signer!;
    const grants = signer.admin ? (await as.grants.list(signer.tenantId)).filter((g) => g.state === "active") : await as.grants.listForSubject(signer.subject);
    return page(c, 200, <AppsPage csrf={as.sessions.csrfToken(session)} signer={signer.label} tenant={signer.tenantId} grants={grants} notice={notice} />);
  };

  routes.post(`${oauthPaths.apps}/revoke`, async (c) => {
    const form = await c.req.parseBody();
    const session = await sessionOf(c);
    if (!session?.signer || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid. Open the connected apps page again.");
    const grant = typeof form.grant === "string" ? await as.grants.get(form.grant) : null;
    const signer = session.signer;
    const allowed = grant && grant.tenant_id === signer.tenantId && (grant.subject === signer.subject || signer.admin);
    if (!grant || !allowed) return errorPage(c, 404, "Unknown app", "There is no such connected app for this account.");
    await as.grants.revoke(grant.id, "revoked on the connected apps page", { actor: `oauth:${signer.subject}` });
    return c.redirect(`${oauthPaths.apps}?notice=revoked`, 303);
  });

  routes.post(oauthPaths.signOut, async (c) => {
    const form = await c.req.parseBody();
    const session = await sessionOf(c);
    if (!session || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid.");
    await as.sessions.end(session.id);
    deleteCookie(c, cookieName(), { path: "/", secure: secure() });
    return page(c, 200, <ErrorPage title="Signed out" message="You are signed out." />);
  });

  routes.get(oauthPaths.link, async (c) => {
    const secret = c.req.query("t") ?? "";
    if (!secret) return errorPage(c, 400, "Link incomplete", "The sign-in link is missing its code; copy the whole link.");
    const session = await ensureSession(c);
    return page(c, 200, <LinkPage csrf={as.sessions.csrfToken(session)} secret={secret} />);
  });

  routes.post(oauthPaths.link, async (c) => {
    const form = await c.req.parseBody();
    const session = await sessionOf(c);
    if (!session || !as.sessions.csrfValid(session, form.csrf)) return errorPage(c, 403, "Form expired", "This form is no longer valid; open the link again.");
    const member = typeof form.t === "string" ? await as.members.redeemLink(form.t) : null;
    if (!member) return errorPage(c, 400, "Link expired", "This sign-in link was already used, has expired, or is unknown. Ask the operator for a new one (mcp-mt member link).");
    const tenant = await as.tenants.find(member.tenantId);
    if (!tenant || tenant.status === "suspended") return errorPage(c, 403, "Tenant suspended", "This tenant is suspended; contact the server's operator.");
    const next = await as.sessions.signIn(session, { tenantId: member.tenantId, subject: `member:${member.id}`, label: member.email, maxScopes: scopesOfRole(member.role as Role), admin: member.role === "admin" });
    setSession(c, next);
    const pending = as.sessions.newestRequest(next);
    return afterSignIn(c, next, pending);
  });

  return routes;
}
