/** `mcp-mt stdio`: MCP over stdin/stdout for one tenant. */
import { readSecretFile } from "../config/secret-file.ts";
import { invalidInput } from "../errors.ts";
import { serveStdioSession } from "../mcp/stdio.ts";
import { createServices, storeWorkers } from "../services.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { configFrom, str } from "./context.ts";
import type { Handler } from "./spec.ts";

export const stdio: Handler = async (ctx) => {
  const loaded = configFrom(ctx);
  const tenant = str(ctx, "tenant");
  const keyFile = str(ctx, "key-file");
  if (tenant !== undefined && (keyFile !== undefined || loaded.secrets.apiKey)) throw invalidInput("use either --tenant or an API key (MCP_MT_API_KEY / --key-file), not both");
  let credential: { apiKey: string } | { tenantId: string };
  if (tenant !== undefined) credential = { tenantId: assertTenantId(tenant) };
  else if (keyFile !== undefined) credential = { apiKey: readSecretFile(keyFile, "the key file") };
  else if (loaded.secrets.apiKey) credential = { apiKey: loaded.secrets.apiKey };
  else throw invalidInput("no credentials: set MCP_MT_API_KEY, pass --key-file PATH, or (operator on this host) --tenant ID");
  // Store work on a worker thread, as in the server: a call stuck on a lock must not hold the event loop,
  // or its deadline could not answer it in time.
  const services = await createServices(loaded, { create: false, workers: Math.min(2, storeWorkers(loaded.config)) });
  try {
    return await serveStdioSession(services, credential);
  } finally {
    await services.close();
  }
};
