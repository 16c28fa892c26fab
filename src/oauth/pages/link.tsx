/** @jsxImportSource hono/jsx */
/** A one-time sign-in link asks for a click first, so link previewers cannot use it up. */
import { Csrf, Layout } from "./layout.tsx";

export function LinkPage({ csrf, secret }: { csrf: string; secret: string }) {
  return (
    <Layout title="Sign in with a link">
      <h1>Sign in with your link</h1>
      <p class="muted">This link works once.</p>
      <form method="post" action="/oauth/link">
        <Csrf token={csrf} />
        <input type="hidden" name="t" value={secret} />
        <button type="submit">Continue</button>
      </form>
    </Layout>
  );
}
