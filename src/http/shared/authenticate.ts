import type { FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { hashSecret, parseSecret } from '../../core/key-format.js';
import { type KeyRecord, verifyFailureMessage, verifyKey } from '../../core/verify.js';
import type { AppContext } from '../context.js';
import { presentedKey } from './bearer.js';

/**
 * Verifies the presented key and returns its record, or throws the OpenAI-shaped refusal.
 * Malformed and bad-checksum keys are refused before any lookup; the lookup itself is by SHA-256 digest
 * through a unique index, so no secret is ever compared byte by byte.
 */
export async function authenticateKey(ctx: AppContext, request: FastifyRequest): Promise<KeyRecord> {
  const secret = presentedKey(request);
  if (!secret) throw new TollgateError('missing_api_key');
  if (!parseSecret(secret)) throw new TollgateError('invalid_api_key');
  const hash = hashSecret(secret);
  const cached = ctx.keyCache.get(hash);
  const record = cached instanceof Promise ? await cached : cached;
  const now = Math.floor(ctx.deps.clock() / 1000);
  const result = verifyKey({ record, now, ip: request.ip });
  if (!result.ok) {
    const code = result.code === 'ip_not_allowed' ? 'ip_not_allowed' : 'invalid_api_key';
    throw new TollgateError(code, verifyFailureMessage(result.code, record));
  }
  ctx.lastUsed.touch((record as KeyRecord).id, now);
  return record as KeyRecord;
}
