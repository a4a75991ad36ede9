import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../core/ports.js';

/** Argon2id's costs: memory in KiB, passes. One lane. */
export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
}

/**
 * OWASP's minimum profile for Argon2id (19 MiB, 2 passes, 1 lane): RFC 9106 §4 recommends Argon2id, and the memory
 * cost is what makes offline guessing expensive on GPUs. Every server and CLI uses it; only the test harness builds a
 * cheaper hasher, for the hundreds of accounts the suite creates (test/harness/server.ts).
 */
export const OWASP_ARGON2ID: Argon2Cost = Object.freeze({ memoryCost: 19_456, timeCost: 2 });

// `algorithm: 2` is Algorithm.Argon2id: the package declares a const enum, which isolated modules cannot import.
const ARGON2ID = 2;

/** Argon2id at `cost`; hashing runs on the library's own threads, off the event loop. */
export function argon2Hasher(cost: Argon2Cost = OWASP_ARGON2ID): PasswordHasher {
  const options = { algorithm: ARGON2ID, memoryCost: cost.memoryCost, timeCost: cost.timeCost, parallelism: 1 } as const;
  let dummy: Promise<string> | null = null;
  return Object.freeze({
    hash: (password: string) => hash(password, options),
    async verify(storedHash: string | null, password: string): Promise<boolean> {
      if (!storedHash) {
        // An unknown email (or a user who never set a password) costs what a wrong password costs.
        dummy ??= hash('tollgate-timing-equaliser', options);
        await verify(await dummy, password).catch(() => false);
        return false;
      }
      return verify(storedHash, password).catch(() => false);
    },
  });
}
