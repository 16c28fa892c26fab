/** @jsxImportSource hono/jsx */
/** An error the browser cannot be sent back to the app with (unknown client, redirect mismatch, expired link…). */
import { Layout } from "./layout.tsx";

export function ErrorPage({ title, message }: { title: string; message: string }) {
  return (
    <Layout title={title}>
      <h1>{title}</h1>
      <p>{message}</p>
      <p class="muted">Nothing was shared with the app. Close this tab and start again from the app.</p>
    </Layout>
  );
}
