/**
 * The authorization server's signing key pairs, kept in <data.dir>/oauth-signing-keys.json (0600).
 * The newest key signs; a rotated-out key stays published (and accepted) until its grace period ends.
 * A running server re-reads the file when it changes, so `mcp-mt oauth rotate-keys` applies without a restart.
 */
import { monotonicNow } from "../limits/monotonic-clock.ts";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { AppError } from "../errors.ts";

export const signingAlgorithm = "ES256";

type StoredKey = { kid: string; private: JWK; public: JWK; created_at: number; retire_at: number | null };
type KeyFile = { keys: StoredKey[] };

export const signingKeysPath = (dataDir: string) => join(dataDir, "oauth-signing-keys.json");

export class SigningKeys {
  readonly #path: string;
  readonly #clock: () => number;
  #file: KeyFile = { keys: [] };
  #mtime = -1;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #signer: { kid: string; key: CryptoKey | Uint8Array } | null = null;

  constructor(dataDir: string, clock: () => number) {
    this.#path = signingKeysPath(dataDir);
    this.#clock = clock;
  }

  /** Loads the key file, generating the first key pair when there is none. */
  async open(): Promise<this> {
    if (!existsSync(this.#path)) await this.#write({ keys: [await newKey(this.#clock())] });
    this.#reload();
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

  /** Adds a new current key; the previous ones are accepted until now + graceMs, then dropped from the file. */
  async rotate(graceMs: number): Promise<{ kid: string; retired: string[] }> {
    this.#reload();
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
    await this.#write({ keys: [fresh, ...kept] });
    this.#reload();
    return { kid: fresh.kid, retired };
  }

  /** Re-reads the file at most once a second, and only when it changed. */
  #refresh(): void {
    const now = monotonicNow();
    if (now - this.#checkedAt < 1_000) return;
    this.#checkedAt = now;
    if (statSync(this.#path, { throwIfNoEntry: false })?.mtimeMs !== this.#mtime) this.#reload();
  }

  #reload(): void {
    try {
      this.#mtime = statSync(this.#path).mtimeMs;
      this.#file = JSON.parse(readFileSync(this.#path, "utf8")) as KeyFile;
    } catch (error) {
      throw new AppError("config_invalid", `${this.#path} is not a readable key file: ${(error as Error).message}`);
    }
  }

  async #write(file: KeyFile): Promise<void> {
    const temp = `${this.#path}.tmp`;
    writeFileSync(temp, JSON.stringify(file, null, 2), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.#path);
  }
}

async function newKey(now: number): Promise<StoredKey> {
  const pair = await generateKeyPair(signingAlgorithm, { extractable: true });
  const kid = `k${now.toString(36)}${crypto.getRandomValues(new Uint8Array(4)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}`;
  const common = { kid, alg: signingAlgorithm, use: "sig" };
  return { kid, private: { ...(await exportJWK(pair.privateKey)), ...common }, public: { ...(await exportJWK(pair.publicKey)), ...common }, created_at: now, retire_at: null };
}
