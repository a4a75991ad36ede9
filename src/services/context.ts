import type { Kysely } from 'kysely';
import type { KeyChangeListener, PasswordHasher } from '../core/ports.js';
import type { Database } from '../storage/database.js';
import type { DB } from '../storage/schema.js';

/** Who did something: rendered into audit entries and `created_by`. */
export interface Actor {
  type: 'api_key' | 'session' | 'cli' | 'system' | 'reporter';
  id: string | null;
  /** For api_key actors: admin, or the kind of project key. */
  keyType?: 'admin' | 'user' | 'service_account';
  email?: string | null;
  name?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}


/** Everything a use case needs; built once in main.ts (or the CLI) and passed in. */
export interface ServiceDeps {
  database: Database;
  /** Milliseconds since the epoch. */
  clock: () => number;
  randomBytes: (n: number) => Uint8Array;
  changes: KeyChangeListener;
  /** Account passwords: Argon2id at OWASP's profile (infra/argon2-hasher.ts). */
  passwords: PasswordHasher;
}

export type { KeyChangeListener };

export type Executor = Kysely<DB>;

/** Seconds since the epoch. */
export function nowSeconds(deps: ServiceDeps): number {
  return Math.floor(deps.clock() / 1000);
}

export const noopChanges: KeyChangeListener = { keyChanged() {}, projectChanged() {} };
