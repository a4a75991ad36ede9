import type { FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { type KeyRecord, verifyFailureMessage } from '../../core/verify.js';
import { checkSecret, type SecretCheck } from '../../services/verify-secret.js';
import type { AppContext } from '../context.js';
import { presentedKey } from './bearer.js';

/** Turns a failed check into the OpenAI-shaped refusal. */
export function refusal(check: Extract<SecretCheck, { ok: false }>): TollgateError {
  if (check.code === 'missing') return new TollgateError('missing_api_key');
  if (check.code === 'malformed') return new TollgateError('invalid_api_key');
  const code = check.code === 'ip_not_allowed' ? 'ip_not_allowed' : 'invalid_api_key';
  return new TollgateError(code, verifyFailureMessage(check.code, check.record));
}

/** Refuses an IP that guessed too many keys; records a guess when a check failed for a bad or unknown key. */
export function throttleGuard(ctx: AppContext, ip: string): void {
  const wait = ctx.authThrottle.blockedFor(ip, Date.now());
  if (wait > 0) {
    const err = new TollgateError('too_many_attempts', 'Too many invalid API keys from this address; try again later.');
    err.headers = { 'retry-after': String(Math.ceil(wait / 1000)) };
    throw err;
  }
}

/** Counts failures that look like guessing (malformed, unknown); not revoked/expired keys of real users. */
export function noteFailure(ctx: AppContext, ip: string, check: Extract<SecretCheck, { ok: false }>): void {
  if (check.code === 'malformed' || check.code === 'unknown') ctx.authThrottle.fail(ip, Date.now());
}

/** Verifies the presented key and returns its record, or throws the refusal. Notes the use for last_used_at. */
export async function authenticateKey(ctx: AppContext, request: FastifyRequest): Promise<KeyRecord> {
  throttleGuard(ctx, request.ip);
  const now = Math.floor(ctx.deps.clock() / 1000);
  const pending = checkSecret(ctx.keyCache, presentedKey(request), now, request.ip);
  const check = pending instanceof Promise ? await pending : pending;
  if (!check.ok) {
    noteFailure(ctx, request.ip, check);
    throw refusal(check);
  }
  ctx.lastUsed.touch(check.record.id, now);
  return check.record;
}
