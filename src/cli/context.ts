/** Shared plumbing for commands: config from the global flags, and a runtime opened for one command. */
import { adminClient } from "../admin/client.ts";
import { localOperator, type Operator } from "../admin/operator.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { openRuntime, operatorActor, type Runtime, type RuntimeOptions } from "../runtime.ts";
import type { CommandContext } from "./spec.ts";

type OpenOptions = Pick<RuntimeOptions, "create" | "checkPepper">;

export const configFrom = (ctx: CommandContext): LoadedConfig =>
  loadConfig({ configPath: ctx.values.config as string | undefined, dataDir: ctx.values["data-dir"] as string | undefined });

/**
 * Opens the runtime, runs `fn`, and always closes the databases. A command never creates a data directory
 * unless it says so (`create: true`: tenant add, restore): reading or checking must leave no trace.
 */
export async function withRuntime<T>(ctx: CommandContext, fn: (runtime: Runtime) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const runtime = await openRuntime(configFrom(ctx), Date.now, operatorActor(), { create: false, ...options });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

export const str = (ctx: CommandContext, name: string): string | undefined => ctx.values[name] as string | undefined;

/**
 * Runs a mutating action where it belongs: through the running server's admin API when one serves this data
 * directory (so caches, limits and revocations apply at once and one process writes), else on the files.
 */
export async function withOperator<T>(ctx: CommandContext, fn: (operator: Operator) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const loaded = configFrom(ctx);
  const client = adminClient(loaded.config);
  if (client) return fn(client.operator(loaded.config));
  const runtime = await openRuntime(loaded, Date.now, operatorActor(), { create: false, ...options });
  try {
    return await fn(localOperator(runtime));
  } finally {
    await runtime.close();
  }
}
