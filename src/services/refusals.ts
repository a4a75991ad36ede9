import type { AccountContext, Client } from './accounts.js';
import { writeAudit } from './audit.js';
import type { Actor } from './context.js';
import type { ImposedLock } from './login-throttle.js';
import { EmailSchema } from './text-fields.js';

// Refused attempts to get into the organization (a sign-up refused, a wrong setup token, a lock-out) are audit entries
// and warn log lines, so an operator sees a takeover attempt in either place. Both are built here from the same few
// fields (email tried, when it is one; address; error code), never from the request body: no password or token can
// reach them.

/** Audit event types of refusals (docs/deployment.md, "Refused sign-ups and lock-outs"). */
export type RefusalType = 'signup.failed' | 'login.locked';

/** Whoever tried: not signed in, known only by the email they gave and where they came from. */
function stranger(email: string | null, client: Client): Actor {
  return { type: 'session', id: null, email, ip: client.ip, userAgent: client.userAgent };
}

/** A refused sign-up: `error_code` says why (setup_token_required, invalid_setup_token, insufficient_permissions, …). */
export async function recordSignupRefusal(
  ctx: AccountContext,
  client: Client,
  email: string | null,
  error: { code: string; message: string },
): Promise<void> {
  const details = { email, error_code: error.code, error_message: error.message };
  await writeAudit(ctx.deps.database.db, ctx.deps, {
    orgId: ctx.orgId,
    type: 'signup.failed',
    actor: stranger(email, client),
    details,
  });
  ctx.log.warn({ event: 'signup.failed', email, ip: client.ip, error_code: error.code }, `sign-up refused: ${error.code}`);
}

/** Locks a failure imposed (`reason` is what failed: login, password_change, setup_token, invite_token or signup). */
export async function recordLocks(
  ctx: AccountContext,
  client: Client,
  email: string | null,
  reason: 'login' | 'password_change' | 'setup_token' | 'invite_token' | 'signup',
  locks: ImposedLock[],
  userId: string | null = null,
): Promise<void> {
  for (const lock of locks) {
    await writeAudit(ctx.deps.database.db, ctx.deps, {
      orgId: ctx.orgId,
      type: 'login.locked',
      actor: stranger(email, client),
      objectId: userId,
      details: { email, reason, scope: lock.scope, retry_after_seconds: lock.retryAfterSeconds },
    });
    ctx.log.warn(
      { event: 'login.locked', email, ip: client.ip, reason, scope: lock.scope, retry_after_seconds: lock.retryAfterSeconds },
      `sign-in locked for ${lock.retryAfterSeconds} s (${lock.scope})`,
    );
  }
}

/**
 * The email of a refused attempt as it is recorded (audit entry, log line): only an email address (trimmed, in lower
 * case), else null. Whatever was typed is not recorded: a password typed into the email field by mistake would be.
 */
export function auditableEmail(value: unknown): string | null {
  const parsed = EmailSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The email of a request body as an audit field (see auditableEmail). */
export function emailField(input: unknown): string | null {
  return auditableEmail((input as { email?: unknown } | null)?.email);
}
