import { z } from 'zod';
import { plainTextProblem } from '../core/plain-text.js';

// Every text field the admin API, the dashboard's session API and the CLI accept is one of these (issue 16 §2a), so
// each refuses control characters and has a length cap: the rule is in one place, not in each schema. A schema under
// services/ that uses a bare z.string() fails text-fields.test.ts (passwords are the one exception: they are hashed,
// never stored or shown).

/** The longest email address (RFC 5321 §4.5.3.1: 64 + 1 + 255). */
export const MAX_EMAIL_LENGTH = 320;
/** The longest name of a project, key, service account, user, …. */
export const MAX_NAME_LENGTH = 256;
/** The longest id a client may name (ours are under 40 characters). */
export const MAX_ID_LENGTH = 64;

/**
 * A text field: no control characters (see core/plain-text.ts), at most `max` characters (UTF-16 code units), at least
 * `min`; `trim` strips surrounding spaces after the check, so a refused character is never trimmed away unseen.
 */
export function text(opts: { max: number; min?: number; trim?: boolean }) {
  let schema = z.string().superRefine((value, ctx) => {
    const problem = plainTextProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: false });
  });
  if (opts.trim) schema = schema.trim();
  if (opts.min) schema = schema.min(opts.min, opts.min === 1 ? 'must not be empty' : `must be at least ${opts.min} characters`);
  return schema.max(opts.max, `must be at most ${opts.max} characters`);
}

/** A display name (projects, keys, service accounts, users): trimmed, not empty. */
export const NameSchema = text({ max: MAX_NAME_LENGTH, min: 1, trim: true });

/** An email address, compared in lower case. */
export const EmailSchema = text({ max: MAX_EMAIL_LENGTH, trim: true }).toLowerCase().email();

/** An id the client names (a user, a project, a service account). */
export const IdSchema = text({ max: MAX_ID_LENGTH });
