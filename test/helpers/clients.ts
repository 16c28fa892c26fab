/** The official MCP clients, connected the way real users connect them. */
import { Client as V2Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1StdioTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as V1HttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** What every test needs from a client, whichever SDK it comes from. */
export type AnyClient = {
  label: string;
  protocolVersion(): string | undefined;
  listTools(): Promise<{ tools: { name: string; annotations?: Record<string, unknown> }[] }>;
  callTool(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; structuredContent?: any; content: any[] }>;
  listResources(cursor?: string): Promise<{ resources: { uri: string; name: string }[]; nextCursor?: string }>;
  readResource(uri: string): Promise<{ contents: { uri: string; text?: string }[] }>;
  close(): Promise<void>;
};

type Era = "modern" | "legacy";

function wrapV2(label: string, client: V2Client): AnyClient {
  return {
    label,
    protocolVersion: () => client.getNegotiatedProtocolVersion(),
    listTools: () => client.listTools() as never,
    callTool: (name, args) => client.callTool({ name, arguments: args }) as never,
    listResources: (cursor) => client.listResources(cursor ? { cursor } : undefined) as never,
    readResource: (uri) => client.readResource({ uri }) as never,
    close: () => client.close(),
  };
}

function wrapV1(label: string, client: V1Client): AnyClient {
  return {
    label,
    protocolVersion: () => (client.transport as { protocolVersion?: string } | undefined)?.protocolVersion ?? "2025-11-25",
    listTools: () => client.listTools() as never,
    callTool: (name, args) => client.callTool({ name, arguments: args }) as never,
    listResources: (cursor) => client.listResources(cursor ? { cursor } : undefined) as never,
    readResource: (uri) => client.readResource({ uri }) as never,
    close: () => client.close(),
  };
}

const v2Options = (era: Era) => ({ versionNegotiation: { mode: era === "modern" ? ({ pin: "2026-07-28" } as const) : ("legacy" as const) } });

export async function v2Http(url: string, key: string, era: Era): Promise<AnyClient> {
  const client = new V2Client({ name: "mcp-mt-e2e", version: "1.0.0" }, v2Options(era));
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return wrapV2(`v2 client ${era} over HTTP`, client);
}

export async function v1Http(url: string, key: string): Promise<AnyClient> {
  const client = new V1Client({ name: "mcp-mt-e2e-v1", version: "1.0.0" });
  await client.connect(new V1HttpTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return wrapV1("v1 client over Streamable HTTP", client);
}

export async function v2Stdio(bin: string, cwd: string, env: Record<string, string>, era: Era, args: string[] = []): Promise<AnyClient> {
  const client = new V2Client({ name: "mcp-mt-e2e", version: "1.0.0" }, v2Options(era));
  await client.connect(new StdioClientTransport({ command: bin, args: ["stdio", ...args], cwd, env: { ...getDefaultEnvironment(), ...env }, stderr: "pipe" }));
  return wrapV2(`v2 client ${era} over stdio`, client);
}

export async function v1Stdio(bin: string, cwd: string, env: Record<string, string>, args: string[] = []): Promise<AnyClient> {
  const client = new V1Client({ name: "mcp-mt-e2e-v1", version: "1.0.0" });
  await client.connect(new V1StdioTransport({ command: bin, args: ["stdio", ...args], cwd, env: { PATH: process.env.PATH ?? "", ...env }, stderr: "pipe" }));
  return wrapV1("v1 client over stdio", client);
}
