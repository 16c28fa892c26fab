/** The server pepper keying API-key hashes: from env, a configured file, or generated once into the data dir. */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSecretFile } from "../config/secret-file.ts";
import { AppError } from "../errors.ts";

/** Resolves the pepper; generates `<dataDir>/pepper` (mode 0600) on first start when none is configured. */
export function resolvePepper(options: { fromEnv?: string; file: string; dataDir: string }): string {
  if (options.fromEnv) return checked(options.fromEnv, "MCP_MT_AUTH_PEPPER");
  if (options.file) return checked(readSecretFile(options.file, "auth.pepper_file"), options.file);
  const path = join(options.dataDir, "pepper");
  if (!existsSync(path)) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    try {
      writeFileSync(path, Buffer.from(bytes).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
      chmodSync(path, 0o600);
    } catch (error) {
      // Another process generated it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return checked(readFileSync(path, "utf8").trim(), path);
}

function checked(pepper: string, where: string): string {
  if (pepper.length < 16) throw new AppError("config_invalid", `the pepper from ${where} is shorter than 16 characters`);
  return pepper;
}
