/** Version and git revision, injected by scripts/build.ts; "dev" when running from source. */
declare const MCP_MT_VERSION: string | undefined;
declare const MCP_MT_REVISION: string | undefined;

export const version: string = typeof MCP_MT_VERSION === "string" ? MCP_MT_VERSION : "0.0.0-dev";
export const revision: string = typeof MCP_MT_REVISION === "string" ? MCP_MT_REVISION : "unknown";
