/** Tenants whose database file was found damaged: shown by `tenant show`, /metrics, the TUI; logged once each. */

export type Damage = { since: number; cause: string };

export class DamagedTenants {
  readonly #damaged = new Map<string, Damage>();

  /** Records damage; true the first time for this tenant (the caller logs then, not on every request). */
  mark(tenant: string, cause: string, now = Date.now()): boolean {
    if (this.#damaged.has(tenant)) return false;
    this.#damaged.set(tenant, { since: now, cause });
    return true;
  }

  /** The tenant's file is good again (restored, or a call succeeded). */
  clear(tenant: string): void {
    this.#damaged.delete(tenant);
  }

  get(tenant: string): Damage | undefined {
    return this.#damaged.get(tenant);
  }

  get size(): number {
    return this.#damaged.size;
  }

  ids(): string[] {
    return [...this.#damaged.keys()].sort();
  }
}
