import type { KeyRecordSource } from '../core/ports.js';
import { hashSecret, hasSecretLength, parseSecret } from '../core/key-format.js';
import { type KeyRecord, type VerifyFailure, verifyKey } from '../core/verify.js';
import { isPending, type MaybePromise } from '../core/maybe-promise.js';

/** The cache surface verification needs: a record by digest, from memory or one lookup. */
export type { KeyRecordSource };

export type SecretCheck =
  | { ok: true; record: KeyRecord }
  | { ok: false; code: 'missing' | 'malformed' | VerifyFailure; record: KeyRecord | null };

/**
 * Checks a presented secret: a key already in memory by its SHA-256 digest is known well-formed (its digest matched a
 * stored key's); any other needs its format and checksum first (no lookup for noise), then the record by digest
 * (unique index, so no secret is compared byte by byte); then the ordered checks of core/verify.
 * Returns synchronously when the record is cached, so the hot path allocates no promise.
 */
export function checkSecret(
  source: KeyRecordSource,
  secret: string | null,
  nowSeconds: number,
  ip: string,
): MaybePromise<SecretCheck> {
  if (!secret) return { ok: false, code: 'missing', record: null };
  const digest = hasSecretLength(secret) ? hashSecret(secret) : null;
  const cached = digest ? source.peek?.(digest) : undefined;
  if (cached) return decide(cached, nowSeconds, ip);
  if (!digest || !parseSecret(secret)) return { ok: false, code: 'malformed', record: null };
  const got = source.get(digest);
  if (isPending(got)) return got.then((record) => decide(record, nowSeconds, ip));
  return decide(got, nowSeconds, ip);
}

function decide(record: KeyRecord | null, now: number, ip: string): SecretCheck {
  const result = verifyKey({ record, now, ip });
  return result.ok ? { ok: true, record: record as KeyRecord } : { ok: false, code: result.code, record };
}
