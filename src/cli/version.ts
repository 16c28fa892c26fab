import { revision, version } from "../version.ts";
import type { Handler } from "./spec.ts";

export const versionCommand: Handler = async ({ out }) => {
  out.result(`mcp-mt ${version} (${revision}) bun ${Bun.version} ${process.platform}-${process.arch}`, {
    version,
    revision,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
  });
};
