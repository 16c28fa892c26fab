/**
 * The authorization server's signing key pairs, kept in <data.dir>/oauth-signing-keys.json (0600), or in the
 * control plane on PostgreSQL so that every instance signs and verifies with the same keys.
 * The newest key signs; a rotated-out key stays published (and accepted) until its grace period ends.
 * A running server re-reads the key set every second, so `mcp-mt oauth rotate-keys` applies without a restart.
 */
import { monotonicNow } from "../limits/monotonic-clock.ts";
import { eq } from "drizzle-orm";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { AppError } from "../errors.ts";
import type { ControlDatabase } from "../store/control/db.ts";
import { settings } from "../store/control/schema.ts";

export const signingAlgorithm = "ES256";

type StoredKey = { kid: string; private: JWK; public: JWK; created_at: number; retire_at: number | null };
export type KeyFile = { keys: StoredKey[] };

export const signingKeysPath = (dataDir: string) => join(dataDir, "oauth-signing-keys.json");

/** Where the key set lives: a file in the data directory, or the shared control plane (several instances). */
export type KeyStore = {
  /** The key set, or null when none was created yet. */
  load(): Promise<KeyFile | null>;
  /** A local file can be re-read on the spot, so a rotation applies to the very next request. */
  loadSync?(): KeyFile | null;
  save(file: KeyFile): Promise<void>;
  /** Stores `file` unless a key set exists already (several instances starting at once keep one). */
  init(file: KeyFile): Promise<void>;
  where: string;
};

/** The key set in <data.dir>/oauth-signing-keys.json (0600), replaced atomically; re-read only when it changed. */
export function fileKeyStore(dataDir: string): KeyStore {
  const path = signingKeysPath(dataDir);
  const save = async (file: KeyFile) => {
    const temp = `${path}.tmp`;
    writeFileSync(temp, JSON.stringify(file, null, 2), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, path);
  };
  // Read again only when the file changed (it is checked once a second on the signing and JWKS paths).
  let seen: { mtimeMs: number; size: number; file: KeyFile } | null = null;
  return {
    where: path,
    save,
    init: async (file) => {
      if (!existsSync(path)) await save(file);
    },
    load: async () => loadSync(),
    loadSync,
  };
  function loadSync(): KeyFile | null {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return null;
    if (seen && seen.mtimeMs === stat.mtimeMs && seen.size === stat.size) return seen.file;
    try {
      const file = JSON.parse(readFileSync(path, "utf8")) as KeyFile;
      seen = { mtimeMs: stat.mtimeMs, size: stat.size, file };
      return file;
    } catch (error) {
      throw new AppError("config_invalid", `${path} is not a readable key file: ${(error as Error).message}`);
    }
  }
}

/**
 * The key set in the control plane's settings (PostgreSQL deployments): every instance signs with the same
 * key and publishes the same JWKS, and `oauth rotate-keys` on any of them reaches all within a second.
 */
export function controlKeyStore(control: ControlDatabase): KeyStore {
  const name = "oauth_signing_keys";
  return {
    where: "the control plane (settings.oauth_signing_keys)",
    load: async () => {
      const [row] = await control.db.select({ value: settings.value }).from(settings).where(eq(settings.name, name));
      return row ? (JSON.parse(row.value) as KeyFile) : null;
    },
    save: async (file) => {
      const value = JSON.stringify(file);
      await control.db.insert(settings).values({ name, value }).onConflictDoUpdate({ target: settings.name, set: { value } });
    },
    init: async (file) => {
      await control.db.insert(settings).values({ name, value: JSON.stringify(file) }).onConflictDoNothing();
    },
  };
}

export class SigningKeys {
  readonly #store: KeyStore;
  readonly #clock: () => number;
  #file: KeyFile = { keys: [] };
  #checkedAt = Number.NEGATIVE_INFINITY;
  #signer: { kid: string; key: CryptoKey | Uint8Array } | null = null;

  constructor(store: KeyStore, clock: () => number) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Loads the key set, generating the first key pair when there is none. */
  async open(): Promise<this> {
    if (!(await this.#store.load())) await this.#store.init({ keys: [await newKey(this.#clock())] });
    await this.#reload();
    return this;
  }

  /** The public keys still valid (current and in grace), as a JWKS document. */
  jwks(): { keys: JWK[] } {
    this.#refresh();
    const now = this.#clock();
    return { keys: this.#file.keys.filter((k) => k.retire_at === null || k.retire_at > now).map((k) => k.public) };
  }

  /** The key that signs new tokens. */
  async signer(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
    this.#refresh();
    const current = this.#file.keys.find((k) => k.retire_at === null);
    if (!current) throw new AppError("unavailable", "no current OAuth signing key; run `mcp-mt oauth rotate-keys`");
    if (this.#signer?.kid !== current.kid) this.#signer = { kid: current.kid, key: await importJWK(current.private, signingAlgorithm) };
    return this.#signer;
  }

  /** Adds a new current key; the previous ones are accepted until now + graceMs, then dropped from the set. */
  async rotate(graceMs: number): Promise<{ kid: string; retired: string[] }> {
    await this.#reload();
    const now = this.#clock();
    const fresh = await newKey(now);
    const retired: string[] = [];
    const kept = this.#file.keys
      .filter((k) => k.retire_at === null || k.retire_at > now)
      .map((k) => {
        if (k.retire_at !== null) return k;
        retired.push(k.kid);
        return { ...k, retire_at: now + graceMs };
      });
    await this.#store.save({ keys: [fresh, ...kept] });
    await this.#reload();
    return { kid: fresh.kid, retired };
  }

  /** Re-reads the key set at most once a second, in the background (a rotation elsewhere applies within about a second). */
  #refresh(): void {
    const now = monotonicNow();
    if (now - this.#checkedAt < 1_000) return;
    this.#checkedAt = now;
    if (this.#store.loadSync) {
      const file = this.#store.loadSync();
      if (file) this.#file = file;
      return;
    }
    void this.#reload().catch(() => undefined);
  }

  async #reload(): Promise<void> {
    const file = await this.#store.load();
    if (file) this.#file = file;
  }
}

async function newKey(now: number): Promise<StoredKey> {
  const pair = await generateKeyPair(signingAlgorithm, { extractable: true });
  const kid = `k${now.toString(36)}${crypto.getRandomValues(new Uint8Array(4)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}`;
  const common = { kid, alg: signingAlgorithm, use: "sig" };
  return { kid, private: { ...(await exportJWK(pair.privateKey)), ...common }, public: { ...(await exportJWK(pair.publicKey)), ...common }, created_at: now, retire_at: null };
}

/** The key store of a deployment: shared in the control plane on PostgreSQL, a file in the data directory otherwise. */
export const keyStoreFor = (control: ControlDatabase, dataDir: string): KeyStore => (control.dialect === "postgres" ? controlKeyStore(control) : fileKeyStore(dataDir));
