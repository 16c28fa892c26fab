/** Reads a secret or PEM file named by the config or a flag; a failure names what and where, never the content. */
import { readFileSync } from "node:fs";
import { AppError } from "../errors.ts";

export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new AppError("config_invalid", `${what} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
}
