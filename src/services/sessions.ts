import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { OrgRole } from '../core/roles.js';
import type { Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';

// Dashboard sessions. The browser holds a 256-bit random token; the database holds its SHA-256 digest,
// so a copy of the table cannot be replayed. A session ends after 12 hours without use or 7 days after
// sign-in, whichever comes first (OWASP Session Management Cheat Sheet: idle and absolute timeouts).

export const SESSION_IDLE_SECONDS = 12 * 3600;
export const SESSION_MAX_SECONDS = 7 * 24 * 3600;
// Writing last_seen_at on every request would turn each read into a write; a minute's precision is plenty.
const TOUCH_EVERY_SECONDS = 60;

export interface SessionUser {
  tokenHash: string;
  userId: string;
  email: string;
  name: string;
  role: OrgRole;
  lastSeenAt: number;
  expiresAt: number;
}

/** SHA-256 hex digest of a session token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The CSRF token of a session: an HMAC of its digest under the server secret, so nothing extra is stored. */
export function csrfTokenFor(secret: string, tokenHash: string): string {
  return createHmac('sha256', secret).update(`csrf\0${tokenHash}`).digest('base64url');
}

/** Whether a presented CSRF token is the session's (constant time). */
export function isCsrfTokenValid(secret: string, tokenHash: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(secret, tokenHash));
  const got = Buffer.from(presented);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Starts a session for a user (in the caller's transaction, if given); returns the token for the cookie (never stored). */
export async function createSession(
  deps: ServiceDeps,
  userId: string,
  client: { ip: string | null; userAgent: string | null },
  ex: Executor = deps.database.db,
): Promise<{ token: string; tokenHash: string; expiresAt: number }> {
  const token = Buffer.from(deps.randomBytes(32)).toString('base64url');
  const tokenHash = hashSessionToken(token);
  const now = nowSeconds(deps);
  const expiresAt = now + SESSION_MAX_SECONDS;
  await ex
    .insertInto('sessions')
    .values({
      token_hash: tokenHash,
      user_id: userId,
      created_at: now,
      last_seen_at: now,
      expires_at: expiresAt,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 512) ?? null,
    })
    .execute();
  return { token, tokenHash, expiresAt };
}

/** The live session and its (not deleted) user for a token; null when unknown, idle too long, or expired. Notes the use. */
export async function findSession(deps: ServiceDeps, token: string): Promise<SessionUser | null> {
  const tokenHash = hashSessionToken(token);
  const row = await deps.database.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.token_hash', 's.user_id', 's.last_seen_at', 's.expires_at', 'u.email', 'u.name', 'u.role', 'u.deleted_at'])
    .where('s.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row || row.deleted_at !== null) return null;
  const now = nowSeconds(deps);
  if (now >= row.expires_at || now - row.last_seen_at >= SESSION_IDLE_SECONDS) {
    await deleteSession(deps, tokenHash);
    return null;
  }
  if (now - row.last_seen_at >= TOUCH_EVERY_SECONDS) {
    await deps.database.db.updateTable('sessions').set({ last_seen_at: now }).where('token_hash', '=', tokenHash).execute();
  }
  return {
    tokenHash,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    lastSeenAt: now,
    expiresAt: Math.min(row.expires_at, now + SESSION_IDLE_SECONDS),
  };
}

/** Ends one session (in the caller's transaction, if given); false when there was none to end. */
export async function deleteSession(deps: ServiceDeps, tokenHash: string, ex: Executor = deps.database.db): Promise<boolean> {
  const res = await ex.deleteFrom('sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Ends every session of a user (after a password change), in the caller's transaction if given. */
export async function deleteUserSessions(deps: ServiceDeps, userId: string, ex: Executor = deps.database.db): Promise<void> {
  await ex.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

/** Drops sessions that can no longer be used, so the table does not grow without end. */
export async function purgeExpiredSessions(deps: ServiceDeps): Promise<void> {
  const now = nowSeconds(deps);
  await deps.database.db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - SESSION_IDLE_SECONDS)]))
    .execute();
}
