import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { isCommonPassword } from './common-passwords.js';

// Passwords are hashed by the runtime's PasswordHasher (infra/argon2-hasher.ts: Argon2id, OWASP's profile); this
// module holds the rules a new password must meet.

export const MIN_PASSWORD_LENGTH = 8;
// A cap keeps one request from making the server hash megabytes (argon2 reads every byte); passphrases fit easily.
export const MAX_PASSWORD_LENGTH = 1024;

/** The rules of a new password, stated in every refusal (NIST SP 800-63B §3.1.1.2: length, a blocklist, context). */
export const PASSWORD_RULES =
  `A password needs at least ${MIN_PASSWORD_LENGTH} characters (long passphrases are welcome, up to ${MAX_PASSWORD_LENGTH}), ` +
  'must not be one of the 100,000 most common passwords, and must not be your email address or its name part.';

/** A new password's shape in a request body; the rules are checked by checkNewPassword, which knows the email. */
export const NewPasswordSchema = z.string().max(MAX_PASSWORD_LENGTH, `it is longer than ${MAX_PASSWORD_LENGTH} characters. ${PASSWORD_RULES}`);

/** Which rule a new password breaks, or null. Compared trimmed and lower-cased, as people type them. */
export async function passwordProblem(password: string, email: string): Promise<string | null> {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `it is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `it is longer than ${MAX_PASSWORD_LENGTH} characters`;
  const typed = password.trim().toLowerCase();
  const address = email.trim().toLowerCase();
  if (typed === address) return 'it is your email address';
  const at = address.lastIndexOf('@');
  if (at > 0 && typed === address.slice(0, at)) return 'it is the name part of your email address';
  if (await isCommonPassword(typed)) return 'it is one of the most common passwords, the first ones an attacker tries';
  return null;
}

/** Refuses a new password that breaks a rule: 400 naming the parameter, the broken rule and all the rules. */
export async function checkNewPassword(password: string, email: string, param: string): Promise<void> {
  const problem = await passwordProblem(password, email);
  if (problem) throw new TollgateError('invalid_value', `Invalid value for '${param}': ${problem}. ${PASSWORD_RULES}`, param);
}

/** A presented password (sign-in); only the cap applies, so old passwords keep working if the rules change. */
export const PresentedPasswordSchema = z.string().min(1, 'must not be empty').max(MAX_PASSWORD_LENGTH);
