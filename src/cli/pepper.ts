/** `mcp-mt pepper reset`: the repair path when the API-key pepper is lost (see README, "The pepper"). */
import { pepperFingerprint, recordedFingerprint, resetPepper, shortFingerprint } from "../auth/pepper.ts";
import { AppError, invalidInput } from "../errors.ts";
import { runningServer } from "../tenancy/server-lock.ts";
import { configFrom, withServices } from "./context.ts";
import type { Handler } from "./spec.ts";

export const pepperReset: Handler = async (ctx) => {
  if (!ctx.values.yes) throw invalidInput("this revokes every API key (none can verify under a new pepper); add --yes to confirm");
  const running = runningServer(configFrom(ctx).config.data.dir);
  if (running) throw new AppError("conflict", `a server (pid ${running.pid}) is using this data directory: stop it first`);
  return withServices(
    ctx,
    async (rt, by) => {
      const current = pepperFingerprint(rt.pepper.value);
      if ((await recordedFingerprint(rt.control)) === current) {
        return void ctx.out.result(`The pepper from ${rt.pepper.where} (fingerprint ${shortFingerprint(current)}) already matches: nothing to reset.`, { reset: false, fingerprint: shortFingerprint(current) });
      }
      const { revoked } = await resetPepper(rt.control, rt.pepper, rt.clock());
      await rt.audit.append({ actor: by.actor, action: "pepper.reset", outcome: "success", details: { revoked_keys: revoked, fingerprint: shortFingerprint(current) } });
      ctx.out.result(
        `Accepted the pepper from ${rt.pepper.where} (fingerprint ${shortFingerprint(current)}) and revoked ${revoked} API keys that could no longer verify.\nIssue new keys with \`mcp-mt key create <tenant>\`.`,
        { reset: true, revoked_keys: revoked, fingerprint: shortFingerprint(current) },
      );
    },
    { checkPepper: false },
  );
};
