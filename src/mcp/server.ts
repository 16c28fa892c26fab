/**
 * The MCP server factory. The catalogue (tool schemas, instructions, validator) is built once at start-up;
 * a cheap McpServer is put together per request around the caller's tenant context, as the SDK intends.
 */
import { McpServer, ProtocolError, ResourceNotFoundError, ResourceTemplate, type CallToolResult } from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import type { Config } from "../config/schema.ts";
import { AppError, publicMessage, wireError } from "../errors.ts";
import { events } from "../metering/usage-meter.ts";
import type { Scope } from "../auth/scopes.ts";
import type { TenantContext } from "../tenancy/context.ts";
import { version } from "../version.ts";
import { humanSchema } from "../zod-messages.ts";
import type { ToolDefinition } from "./tool.ts";
import { createDocument } from "./tools/create-document.ts";
import { deleteDocument } from "./tools/delete-document.ts";
import { getDocument } from "./tools/get-document.ts";
import { getUsageReport } from "./tools/get-usage-report.ts";
import { listDocuments } from "./tools/list-documents.ts";
import { searchDocuments } from "./tools/search-documents.ts";
import { updateDocument } from "./tools/update-document.ts";

export type Catalogue = { tools: ToolDefinition[]; instructions: string; validator: AjvJsonSchemaValidator; pageSize: number; filterByScope: boolean };

export const documentUriPrefix = "mcp-mt://documents/";

/** Builds the tool catalogue once; limits from the config are baked into the schemas. */
export function buildCatalogue(config: Config, clock: () => number = Date.now): Catalogue {
  const limits = config.documents;
  const tools = [createDocument(limits), getDocument(), listDocuments(limits), searchDocuments(limits), updateDocument(limits), deleteDocument(), getUsageReport(clock)];
  const instructions = [
    "mcp-mt gives this workspace a private document store with full-text search. Nobody outside the workspace can see its documents.",
    "Tools: create_document, get_document, list_documents (newest first, cursor pagination, tag filter), search_documents (ranked full-text search with snippets), update_document (pass expected_version to avoid overwriting someone else's change), delete_document, get_usage_report (this workspace's usage, cost and remaining quotas).",
    `Documents are also resources at ${documentUriPrefix}{id}.`,
    `Limits: titles ${limits.max_title_chars} characters, content ${limits.max_content_bytes} bytes, ${limits.max_tags} tags, pages of at most ${limits.max_page_size}.`,
  ].join("\n");
  return { tools, instructions, validator: new AjvJsonSchemaValidator(), pageSize: limits.default_page_size, filterByScope: config.auth.filter_tools_by_scope };
}

/**
 * A server whose handlers read the tenant context from `context(extra)` when they start: the request's own
 * for stdio (by its JSON-RPC id), or the current request's for a pooled HTTP server. `scopes` picks the tools listed.
 */
/** What a handler is given by the SDK that locates its request's tenant context (stdio looks it up by request id). */
export type HandlerExtra = { mcpReq?: { id?: string | number } } | undefined;

export function buildServer(catalogue: Catalogue, context: (extra: HandlerExtra) => TenantContext, scopes: readonly Scope[]): McpServer {
  const server = new McpServer(
    { name: "mcp-mt", title: "mcp-mt document store", version },
    {
      instructions: catalogue.instructions,
      capabilities: { tools: {}, resources: {} },
      jsonSchemaValidator: catalogue.validator,
      // Everything here is tenant-specific: never cacheable across users.
      cacheHints: {
        "tools/list": { ttlMs: 300_000, cacheScope: "private" },
        "resources/list": { ttlMs: 0, cacheScope: "private" },
        "resources/templates/list": { ttlMs: 300_000, cacheScope: "private" },
        "resources/read": { ttlMs: 0, cacheScope: "private" },
      },
    },
  );
  for (const tool of catalogue.tools) {
    // A caller sees only the tools its scopes allow (auth.filter_tools_by_scope).
    if (catalogue.filterByScope && !scopes.includes(tool.scope)) continue;
    server.registerTool(
      tool.name,
      // Invalid arguments are answered in people's words ("content is required"), not zod's.
      { title: tool.title, description: tool.description, inputSchema: humanSchema(tool.input) as typeof tool.input, outputSchema: tool.output, annotations: tool.annotations },
      (args: unknown, extra: HandlerExtra) => callTool(tool, args, context(extra)),
    );
  }
  registerDocumentResources(server, catalogue, context);
  return server;
}

async function callTool(tool: ToolDefinition, args: unknown, ctx: TenantContext): Promise<CallToolResult> {
  if (!ctx.principal.scopes.includes(tool.scope)) {
    return toolError(`${tool.name} needs the ${tool.scope} scope, which this credential does not have. Ask the operator for a key with that scope.`);
  }
  try {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const result = await tool.run(args as never, ctx);
    return { content: [{ type: "text", text: tool.text(result) }], structuredContent: result };
  } catch (error) {
    if (!(error instanceof AppError)) ctx.log.error("tool failed", { tool: tool.name, error: String(error) });
    if (error instanceof AppError && error.code === "quota_exceeded") ctx.meter(events.quotaExceeded);
    return toolError(error instanceof AppError ? error.message : `${publicMessage(error)} (request ${ctx.requestId}); try again`);
  }
}

const toolError = (text: string): CallToolResult => ({ content: [{ type: "text", text }], isError: true });

function registerDocumentResources(server: McpServer, catalogue: Catalogue, context: (extra: HandlerExtra) => TenantContext): void {
  server.registerResource(
    "document",
    new ResourceTemplate(`${documentUriPrefix}{id}`, { list: undefined }),
    { title: "Document", description: "One document of this workspace, as markdown.", mimeType: "text/markdown" },
    async (uri, { id }, extra) => {
      const ctx = context(extra as HandlerExtra);
      if (!ctx.principal.scopes.includes("documents:read")) throw new ResourceNotFoundError(uri.href);
      const doc = typeof id === "string" ? await ctx.store.get(decodeURIComponent(id)).catch(rethrowAsProtocolError) : null;
      if (!doc) throw new ResourceNotFoundError(uri.href);
      return { contents: [{ uri: uri.href, mimeType: "text/markdown", text: `# ${doc.title}\n\n${doc.content}` }] };
    },
  );
  // The SDK's built-in resources/list neither pages nor passes a cursor to the template: list from the store.
  server.server.setRequestHandler("resources/list", async (request, extra) => {
    const ctx = context(extra as HandlerExtra);
    if (!ctx.principal.scopes.includes("documents:read")) return { resources: [] };
    const cursor = request.params?.cursor;
    const page = await ctx.store.list({ limit: catalogue.pageSize, cursor }).catch(rethrowAsProtocolError);
    return {
      resources: page.documents.map((d) => ({ uri: `${documentUriPrefix}${d.id}`, name: d.id, title: d.title, mimeType: "text/markdown", size: d.bytes })),
      ...(page.next_cursor ? { nextCursor: page.next_cursor } : {}),
    };
  });
}

/** A store error as the SDK's JSON-RPC error, with the code of the one table (src/errors.ts): unavailable stays retryable. */
function rethrowAsProtocolError(error: unknown): never {
  const wire = wireError(error).error;
  throw new ProtocolError(wire.code, wire.message, wire.data);
}
