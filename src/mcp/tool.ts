/** The shape of one tool: name, description, zod schemas, annotations, required scope, handler, readable text. */
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Scope } from "../auth/scopes.ts";
import type { Config } from "../config/schema.ts";
import type { TenantContext } from "../tenancy/context.ts";

export type ToolDefinition<In extends z.ZodObject = z.ZodObject, Out extends z.ZodObject = z.ZodObject> = {
  name: string;
  title: string;
  description: string;
  scope: Scope;
  input: In;
  output: Out;
  annotations: ToolAnnotations;
  run(args: z.infer<In>, ctx: TenantContext): Promise<z.infer<Out>>;
  /** The human-readable rendering placed in `content` next to `structuredContent`. */
  text(result: z.infer<Out>): string;
};

/** A tool factory: receives the config once at start-up (limits go into the schemas) and returns the tool. */
export type ToolFactory = (limits: Config["documents"]) => ToolDefinition;

export const defineTool = <In extends z.ZodObject, Out extends z.ZodObject>(tool: ToolDefinition<In, Out>) => tool as unknown as ToolDefinition;
