import { TollgateError } from '../../core/errors.js';
import { type KeyRecord, verifyFailureMessage } from '../../core/verify.js';
import { checkSecret, type SecretCheck } from '../../services/verify-secret.js';
import type { AppContext } from '../context.js';
import { CONFLICTING_KEYS, type KeyHeaders, presentedKey } from './bearer.js';
import { andThen, type MaybePromise } from '../../core/maybe-promise.js';

/** Turns a failed check into the OpenAI-shaped refusal. */
export function refusal(check: Extract<SecretCheck, { ok: false }>): TollgateError {
  if (check.code === 'missing') return new TollgateError('missing_api_key');
  if (check.code === 'malformed') return new TollgateError('invalid_api_key');
  const code = check.code === 'ip_not_allowed' ? 'ip_not_allowed' : 'invalid_api_key';
  return new TollgateError(code, verifyFailureMessage(check.code, check.record));
}

/** Refuses an IP that guessed too many keys (or sent too many unsigned secret-scanning reports). */
export function throttleGuard(ctx: AppContext, ip: string): void {
  const wait = ctx.authThrottle.blockedFor(ip, ctx.deps.clock());
  if (wait > 0) {
    const err = new TollgateError('too_many_attempts', 'Too many invalid API keys from this address; try again later.');
    err.headers = { 'retry-after': String(Math.ceil(wait / 1000)) };
    throw err;
  }
}

/**
 * Verifies the presented key (admin API and gateway alike): throttles guessing addresses, refuses in OpenAI's shape,
 * counts only guess-like failures (malformed, unknown — not revoked or expired keys of real users) toward the throttle,
 * and notes the use for last_used_at. Synchronous when the key is cached, so the gateway's hot path awaits nothing.
 */
export function verifyPresentedKey(
  ctx: AppContext,
  request: KeyHeaders & { ip: string },
  onRefused?: (code: string, record: KeyRecord | null) => void,
  dataPlane = false,
): MaybePromise<KeyRecord> {
  throttleGuard(ctx, request.ip);
  const now = Math.floor(ctx.deps.clock() / 1000);
  const presented = presentedKey(request, dataPlane);
  if (presented === CONFLICTING_KEYS) {
    onRefused?.('conflicting_keys', null);
    throw new TollgateError('invalid_api_key', 'The request presents two different API keys (in Authorization, x-api-key or api-key); send one.');
  }
  const pending = checkSecret(ctx.keyCache, presented, now, request.ip);
  const finish = (check: SecretCheck): KeyRecord => {
    if (!check.ok) {
      onRefused?.(check.code, check.record);
      if (check.code === 'malformed' || check.code === 'unknown') ctx.authThrottle.fail(request.ip, ctx.deps.clock());
      throw refusal(check);
    }
    ctx.lastUsed.touch(check.record.id, now);
    return check.record;
  };
  return andThen(pending, finish);
}
