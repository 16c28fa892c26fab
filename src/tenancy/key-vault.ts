/**
 * Per-tenant encryption keys: each tenant database has its own random data key, stored in the control plane
 * wrapped (AES-256-GCM) by the master key, which lives only in the environment or a file. Losing the master
 * key loses every encrypted tenant; deleting a wrapped key (tenant remove) makes that tenant's data unreadable.
 */
import { AppError } from "../errors.ts";

const encoder = new TextEncoder();

export class KeyVault {
  readonly #master: CryptoKey;

  private constructor(master: CryptoKey) {
    this.#master = master;
  }

  /** A vault from master-key material (base64 of 32 bytes, or any passphrase of 32+ characters, hashed). */
  static async fromSecret(secret: string): Promise<KeyVault> {
    const trimmed = secret.trim();
    let raw: Uint8Array = Uint8Array.from(Buffer.from(trimmed, "base64"));
    if (raw.length !== 32 || Buffer.from(raw).toString("base64").replace(/=+$/, "") !== trimmed.replace(/=+$/, "")) {
      if (trimmed.length < 32) throw new AppError("config_invalid", "the encryption master key must be 32 bytes in base64 (openssl rand -base64 32) or a passphrase of at least 32 characters");
      raw = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(trimmed)));
    }
    const key = await crypto.subtle.importKey("raw", raw as unknown as ArrayBuffer, "AES-GCM", false, ["encrypt", "decrypt"]);
    return new KeyVault(key);
  }

  /** A new random data key (the passphrase handed to libSQL). */
  static newDataKey(): string {
    return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  }

  /** iv ‖ ciphertext+tag, base64; the tenant id is bound as associated data so keys cannot be swapped between tenants. */
  async wrap(dataKey: string, tenantId: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(tenantId) }, this.#master, encoder.encode(dataKey)));
    return `v1.${Buffer.from(iv).toString("base64url")}.${Buffer.from(sealed).toString("base64url")}`;
  }

  async unwrap(wrapped: string, tenantId: string): Promise<string> {
    const [version, iv, sealed] = wrapped.split(".");
    if (version !== "v1" || !iv || !sealed) throw new AppError("internal", `the stored key of tenant ${tenantId} is malformed`);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: Buffer.from(iv, "base64url"), additionalData: encoder.encode(tenantId) },
        this.#master,
        Buffer.from(sealed, "base64url"),
      );
      return new TextDecoder().decode(plain);
    } catch {
      throw new AppError("unavailable", `the data key of tenant ${tenantId} does not unwrap with this master key (wrong or rotated master key?)`);
    }
  }
}
