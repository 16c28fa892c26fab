/** @jsxImportSource hono/jsx */
/** Consent: who asks (name, verified host), for which tenant, with which scopes; unticking narrows the grant. */
import { Csrf, Layout } from "./layout.tsx";

export const scopeText: Record<string, string> = {
  "documents:read": "Read and search your documents",
  "documents:write": "Create, change and delete documents",
  "usage:read": "See the tenant's usage report",
};

export type ConsentProps = { csrf: string; request: string; clientName: string; clientHost: string | null; redirectHost: string; tenant: string; signer: string; scopes: string[] };

export function ConsentPage(p: ConsentProps) {
  return (
    <Layout title="Allow access">
      <h1>Allow {p.clientName}?</h1>
      <dl>
        <dt>App</dt>
        <dd>
          {p.clientName}
          {p.clientHost ? <span class="muted"> (verified: {p.clientHost})</span> : <span class="muted"> (name given by the app, not verified)</span>}
        </dd>
        <dt>Returns to</dt>
        <dd>
          <code>{p.redirectHost}</code>
        </dd>
        <dt>Tenant</dt>
        <dd>{p.tenant}</dd>
        <dt>Signed in as</dt>
        <dd>{p.signer}</dd>
      </dl>
      <form method="post" action="/oauth/consent">
        <Csrf token={p.csrf} />
        <input type="hidden" name="request" value={p.request} />
        <fieldset>
          <legend>It will be able to</legend>
          {p.scopes.map((scope) => (
            <label class="scope">
              <input type="checkbox" name="scope" value={scope} checked />
              <span>
                {scopeText[scope] ?? scope}
                <small>{scope}</small>
              </span>
            </label>
          ))}
        </fieldset>
        <div class="row">
          <button type="submit" name="decision" value="deny" class="secondary">
            Deny
          </button>
          <button type="submit" name="decision" value="allow">
            Allow
          </button>
        </div>
      </form>
    </Layout>
  );
}
