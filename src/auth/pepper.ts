/**
 * The server pepper keying API-key hashes: from env, a configured file, or generated once into the data dir.
 * The control plane records its fingerprint (an HMAC of a constant under the pepper, never the pepper), so a
 * start or a restore with another pepper, which would silently invalidate every API key, is refused instead.
 */
import { count, eq, isNull } from "drizzle-orm";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSecretFile } from "../config/secret-file.ts";
import { AppError } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { apiKeys, settings } from "../store/control/schema.ts";

/** The pepper and where it came from (to say what to change when it is the wrong one). */
export type Pepper = { value: string; source: "env" | "file" | "data-dir"; where: string };

export const pepperFileIn = (dataDir: string) => join(dataDir, "pepper");

/** Resolves the pepper; generates `<dataDir>/pepper` (mode 0600) on first start when none is configured. */
export function resolvePepper(options: { fromEnv?: string; file: string; dataDir: string }): Pepper {
  if (options.fromEnv) return { value: checked(options.fromEnv, "MCP_MT_AUTH_PEPPER"), source: "env", where: "MCP_MT_AUTH_PEPPER" };
  if (options.file) return { value: checked(readSecretFile(options.file, "auth.pepper_file"), options.file), source: "file", where: `auth.pepper_file (${options.file})` };
  const path = pepperFileIn(options.dataDir);
  if (!existsSync(path)) {
    // On PostgreSQL nothing else creates the data directory (set MCP_MT_AUTH_PEPPER to share one pepper among instances).
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    try {
      writeFileSync(path, Buffer.from(bytes).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
      chmodSync(path, 0o600);
    } catch (error) {
      // Another process generated it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return { value: checked(readFileSync(path, "utf8").trim(), path), source: "data-dir", where: path };
}

function checked(pepper: string, where: string): string {
  if (pepper.length < 16) throw new AppError("config_invalid", `the pepper from ${where} is shorter than 16 characters`);
  return pepper;
}

/** HMAC-SHA256 of a fixed label under the pepper: identifies a pepper without revealing it. */
export function pepperFingerprint(pepper: string): string {
  return new Bun.CryptoHasher("sha256", pepper).update("mcp-mt pepper fingerprint v1").digest("hex");
}

/** How a fingerprint is shown to people: long enough to tell two apart. */
export const shortFingerprint = (fingerprint: string) => fingerprint.slice(0, 12);

const settingName = "pepper_fingerprint";

export async function recordedFingerprint(control: ControlDatabase): Promise<string | null> {
  const [row] = await control.db.select({ value: settings.value }).from(settings).where(eq(settings.name, settingName));
  return row?.value ?? null;
}

export async function recordFingerprint(control: ControlDatabase, fingerprint: string): Promise<void> {
  await control.db.insert(settings).values({ name: settingName, value: fingerprint }).onConflictDoUpdate({ target: settings.name, set: { value: fingerprint } });
}

/**
 * Refuses a pepper other than the one the stored API keys were hashed with; records the fingerprint when
 * none is recorded yet, or when no key exists (nothing can break: e.g. a fresh directory before a restore).
 */
export async function checkPepper(control: ControlDatabase, pepper: Pepper): Promise<void> {
  const current = pepperFingerprint(pepper.value);
  const recorded = await recordedFingerprint(control);
  if (recorded === current) return;
  if (recorded !== null && control.dialect === "postgres") {
    // Several instances share this control plane: the first one's pepper binds them all, keys or not.
    throw pepperMismatch(pepper, current, recorded, `the control plane at ${control.where} records (another instance uses it)`, false, true);
  }
  if (recorded !== null) {
    const [keys] = await control.db.select({ n: count() }).from(apiKeys);
    if ((keys?.n ?? 0) > 0) throw pepperMismatch(pepper, current, recorded, "this data directory's API keys were hashed with");
  }
  await recordFingerprint(control, current);
}

/** The refusal that says what happened and the ways out. */
export function pepperMismatch(pepper: Pepper, current: string, expected: string, what: string, restoring = false, shared = false): AppError {
  return new AppError(
    "config_invalid",
    [
      `the API-key pepper from ${pepper.where} (fingerprint ${shortFingerprint(current)}) is not the one ${what} (fingerprint ${shortFingerprint(expected)}): every API key would be refused.`,
      `Put the original pepper in place (the old machine's <data dir>/pepper, MCP_MT_AUTH_PEPPER or auth.pepper_file; or secrets/pepper of a backup made with \`mcp-mt backup --include-secrets\`)${restoring ? " and run the restore again, or restore a backup made with --include-secrets." : "."}`,
      shared ? "Every instance on one PostgreSQL control plane needs the same pepper: set MCP_MT_AUTH_PEPPER (or auth.pepper_file) to the same value on all of them." : "",
      restoring ? "" : "If it is lost for good, `mcp-mt pepper reset --yes` accepts this pepper and revokes every API key (then issue new ones with `mcp-mt key create`).",
    ].filter(Boolean).join(" "),
    { details: { pepper_fingerprint: shortFingerprint(current), expected_fingerprint: shortFingerprint(expected) } },
  );
}

/**
 * The repair when the original pepper is lost for good: no stored key can verify any more, so every key is
 * revoked (they stay listed, as revoked) and the current pepper's fingerprint is recorded. Returns how many.
 */
export async function resetPepper(control: ControlDatabase, pepper: Pepper, now: number): Promise<{ revoked: number; fingerprint: string }> {
  const fingerprint = pepperFingerprint(pepper.value);
  const [before] = await control.db.select({ n: count() }).from(apiKeys).where(isNull(apiKeys.revokedAt));
  await control.db.batch([
    control.db.update(apiKeys).set({ revokedAt: now }).where(isNull(apiKeys.revokedAt)),
    control.db.insert(settings).values({ name: settingName, value: fingerprint }).onConflictDoUpdate({ target: settings.name, set: { value: fingerprint } }),
  ]);
  return { revoked: before?.n ?? 0, fingerprint };
}
