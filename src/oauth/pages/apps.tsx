/** @jsxImportSource hono/jsx */
/** Connected apps: the signed-in member's grants (a tenant admin sees the tenant's), each revocable. */
import type { GrantInfo } from "../grants.ts";
import { Csrf, Layout } from "./layout.tsx";

export function AppsPage({ csrf, signer, tenant, grants, notice }: { csrf: string; signer: string; tenant: string; grants: GrantInfo[]; notice: string | null }) {
  return (
    <Layout title="Connected apps">
      <h1>Connected apps</h1>
      <p class="muted">
        {signer} · tenant {tenant}
      </p>
      {notice ? <p role="status">{notice}</p> : null}
      {grants.length === 0 ? (
        <p>No app is connected.</p>
      ) : (
        <ul class="apps">
          {grants.map((g) => (
            <li>
              <div>
                <strong>{g.client_name}</strong>
                <div class="muted">{g.scopes.join(", ")}</div>
                <div class="muted">last used {g.last_used_at.slice(0, 16).replace("T", " ")} UTC</div>
              </div>
              <form method="post" action="/oauth/apps/revoke">
                <Csrf token={csrf} />
                <input type="hidden" name="grant" value={g.id} />
                <button type="submit" class="danger" aria-label={`Revoke ${g.client_name}`}>
                  Revoke
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}
      <form method="post" action="/oauth/sign-out">
        <Csrf token={csrf} />
        <button type="submit" class="secondary">
          Sign out
        </button>
      </form>
    </Layout>
  );
}
