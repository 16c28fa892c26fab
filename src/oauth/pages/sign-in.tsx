/** @jsxImportSource hono/jsx */
/** Sign-in: a member's email and password, or (for tenants without members) a tenant API key. */
import { Csrf, Layout } from "./layout.tsx";

export type SignInProps = { csrf: string; request: string | null; clientName: string | null; error: string | null; email: string };

export function SignInPage({ csrf, request, clientName, error, email }: SignInProps) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      <p class="muted">{clientName ? `${clientName} wants to connect to your documents.` : "Sign in to manage the apps connected to your documents."}</p>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/oauth/sign-in">
        <Csrf token={csrf} />
        {request ? <input type="hidden" name="request" value={request} /> : null}
        <input type="hidden" name="method" value="password" />
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
      <details>
        <summary>Sign in with a tenant API key instead</summary>
        <form method="post" action="/oauth/sign-in">
          <Csrf token={csrf} />
          {request ? <input type="hidden" name="request" value={request} /> : null}
          <input type="hidden" name="method" value="api_key" />
          <label for="api_key">API key</label>
          <input id="api_key" name="api_key" type="password" autocomplete="off" required />
          <p class="muted">The app gets no more than this key allows.</p>
          <button type="submit" class="secondary">
            Sign in with the key
          </button>
        </form>
      </details>
    </Layout>
  );
}

/** The second step for members with a second factor: the 6-digit code of their authenticator app. */
export function TotpPage({ csrf, error }: { csrf: string; error: string | null }) {
  return (
    <Layout title="Authentication code">
      <h1>Authentication code</h1>
      <p class="muted">Enter the 6-digit code from your authenticator app.</p>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/oauth/sign-in/code">
        <Csrf token={csrf} />
        <label for="code">Code</label>
        <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required />
        <button type="submit">Continue</button>
      </form>
    </Layout>
  );
}
