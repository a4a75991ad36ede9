import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';

// Argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane): RFC 9106 §4 recommends Argon2id,
// and the memory cost is what makes offline guessing expensive on GPUs.
// `algorithm: 2` is Algorithm.Argon2id: the package declares a const enum, which isolated modules cannot import.
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 8;
// A cap keeps one request from making the server hash megabytes (argon2 reads every byte).
const MAX_PASSWORD_LENGTH = 1024;

/** A new password's rules: at least 8 characters (NIST SP 800-63B §5.1.1), at most 1024. */
export const NewPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

/** A presented password (sign-in); only the cap applies, so old passwords keep working if the rules change. */
export const PresentedPasswordSchema = z.string().min(1, 'must not be empty').max(MAX_PASSWORD_LENGTH);

/** Hashes a password as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummyHash: Promise<string> | null = null;

/**
 * Checks a password against a stored hash. With no hash (unknown email, or a user who never set a password)
 * it still spends one verification on a dummy hash, so response time does not reveal which emails exist.
 */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword('tollgate-timing-equaliser');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
