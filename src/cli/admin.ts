/** `mcp-mt admin`: the terminal UI. Needs a TTY and a running server (it shows the server's live figures). */
import { adminClient } from "../admin/client.ts";
import { AppError } from "../errors.ts";
import { configFrom } from "./context.ts";
import type { Handler } from "./spec.ts";

export const admin: Handler = async (ctx) => {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write("mcp-mt admin is an interactive terminal UI and needs a TTY (run it in a terminal or over ssh -t). For scripts, use the other commands with --json.\n");
    return 2;
  }
  const loaded = configFrom(ctx);
  const client = adminClient(loaded.config);
  if (!client) throw new AppError("unavailable", `no running server uses ${loaded.config.data.dir}: start \`mcp-mt serve\` first (the admin UI shows its live figures)`);
  const [{ render }, { createElement }, { AdminApp }] = await Promise.all([import("ink"), import("react"), import("../admin/tui/app.tsx")]);
  // We checked for a TTY above: interactive even when a CI variable is set (ink would otherwise print only at exit).
  const app = render(createElement(AdminApp, { client }), { exitOnCtrlC: true, interactive: true });
  await app.waitUntilExit();
  return 0;
};
