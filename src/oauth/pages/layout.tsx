/** @jsxImportSource hono/jsx */
/** The frame of every OAuth page: no script, one same-origin stylesheet, readable on a phone. */
import type { Child } from "hono/jsx";

export function Layout({ title, children }: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · mcp-mt`}</title>
        <link rel="stylesheet" href="/oauth/style.css" />
      </head>
      <body>
        <main>
          <div class="brand">mcp-mt</div>
          <div class="card">{children}</div>
        </main>
      </body>
    </html>
  );
}

export const Csrf = ({ token }: { token: string }) => <input type="hidden" name="csrf" value={token} />;
