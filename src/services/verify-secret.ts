import { hashSecret, parseSecret } from '../core/key-format.js';
import { type KeyRecord, type VerifyFailure, verifyKey } from '../core/verify.js';

/** The cache surface verification needs: a record by digest, from memory or one lookup. */
export interface KeyRecordSource {
  get(secretHash: string): KeyRecord | null | Promise<KeyRecord | null>;
}

export type SecretCheck =
  | { ok: true; record: KeyRecord }
  | { ok: false; code: 'missing' | 'malformed' | VerifyFailure; record: KeyRecord | null };

/**
 * Checks a presented secret: format and checksum first (no lookup for noise), then the record by SHA-256
 * digest (unique index, so no secret is compared byte by byte), then the ordered checks of core/verify.
 * Returns synchronously when the record is cached, so the hot path allocates no promise.
 */
export function checkSecret(
  source: KeyRecordSource,
  secret: string | null,
  nowSeconds: number,
  ip: string,
): SecretCheck | Promise<SecretCheck> {
  if (!secret) return { ok: false, code: 'missing', record: null };
  if (!parseSecret(secret)) return { ok: false, code: 'malformed', record: null };
  const got = source.get(hashSecret(secret));
  if (got instanceof Promise) return got.then((record) => decide(record, nowSeconds, ip));
  return decide(got, nowSeconds, ip);
}

function decide(record: KeyRecord | null, now: number, ip: string): SecretCheck {
  const result = verifyKey({ record, now, ip });
  return result.ok ? { ok: true, record: record as KeyRecord } : { ok: false, code: result.code, record };
}
