/** Shared plumbing for commands: config from the global flags, and the services opened for one command. */
import { adminClient } from "../admin/client.ts";
import { localOperator, type Operator } from "../admin/operator.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { operatorActor, type Acting } from "../audit/actor.ts";
import { createServices, type Services, type ServicesOptions } from "../services.ts";
import type { CommandContext } from "./spec.ts";

type OpenOptions = Pick<ServicesOptions, "create" | "checkPepper">;

export const configFrom = (ctx: CommandContext): LoadedConfig =>
  loadConfig({ configPath: ctx.values.config as string | undefined, dataDir: ctx.values["data-dir"] as string | undefined });

/**
 * Opens the services, runs `fn` as the operator running the command (for the audit log), and always closes
 * the databases. A command never creates a data directory unless it says so (`create: true`: tenant add,
 * restore): reading or checking must leave no trace.
 */
export async function withServices<T>(ctx: CommandContext, fn: (services: Services, by: Acting) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const services = await createServices(configFrom(ctx), { create: false, ...options });
  try {
    return await fn(services, { actor: operatorActor() });
  } finally {
    await services.close();
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
  const services = await createServices(loaded, { create: false, ...options });
  try {
    return await fn(localOperator(services, operatorActor()));
  } finally {
    await services.close();
  }
}
