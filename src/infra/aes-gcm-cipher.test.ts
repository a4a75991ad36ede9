import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmCipher, derivedKey, PROVIDER_CREDENTIALS, WEBHOOK_SIGNING_SECRETS } from './aes-gcm-cipher.js';

const SECRET = 'server-secret-for-the-cipher-test-0123456789';
const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

/** The first format (v1) of a provider key: the same key, bound to the credential id alone. */
function firstFormat(key: Buffer, plaintext: string, aad: string | null): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== null) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

const flip = (part: string) => {
  const bytes = Buffer.from(part, 'base64url');
  bytes[bytes.length - 1] ^= 1;
  return bytes.toString('base64url');
};

describe('AES-256-GCM cipher of secrets at rest', () => {
  const cipher = AesGcmCipher.forProviderCredentials(SECRET);

  it('opens what it sealed, with a fresh IV each time, and never holds the plaintext in the ciphertext', () => {
    const a = cipher.seal(KEY, 'ctx-1');
    const b = cipher.seal(KEY, 'ctx-1');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain(KEY);
    expect(Buffer.from(a.split('.')[3], 'base64url').toString('latin1')).not.toContain('abcdefgh');
    expect(cipher.open(a, 'ctx-1')).toBe(KEY);
    expect(cipher.open(b, 'ctx-1')).toBe(KEY);
    expect(cipher.isCurrent(a)).toBe(true);
  });

  it('refuses a ciphertext that was altered anywhere, cut short (its tag to 4 bytes too), or is of another format', () => {
    const sealed = cipher.seal(KEY, 'ctx-1');
    const [v, iv, tag, ct] = sealed.split('.');
    const tag4 = Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url');
    for (const bad of [
      [v, flip(iv), tag, ct].join('.'),
      [v, iv, flip(tag), ct].join('.'),
      [v, iv, tag, flip(ct)].join('.'),
      [v, iv, tag.slice(0, 8), ct].join('.'),
      [v, iv, tag4, ct].join('.'),
      [v, iv, tag, ct.slice(0, -2)].join('.'),
      ['v3', iv, tag, ct].join('.'),
      ['v1', iv, tag, ct].join('.'),
      sealed.split('.').slice(0, 3).join('.'),
      '',
    ]) {
      expect(() => cipher.open(bad, 'ctx-1', 'ctx-1'), bad).toThrow();
    }
  });

  it('refuses a ciphertext under another context, or read under another server secret', () => {
    const sealed = cipher.seal(KEY, 'ctx-1');
    expect(() => cipher.open(sealed, 'ctx-2')).toThrow();
    expect(() => AesGcmCipher.forProviderCredentials(`${SECRET}x`).open(sealed, 'ctx-1')).toThrow();
  });

  it('reads a provider key of the first format bound to its v1 context only, refusing a cut tag', () => {
    const v1 = firstFormat(derivedKey(SECRET, PROVIDER_CREDENTIALS), KEY, 'pcred_1');
    expect(cipher.isCurrent(v1)).toBe(false);
    expect(cipher.open(v1, 'anything', 'pcred_1')).toBe(KEY);
    expect(() => cipher.open(v1, 'anything', 'pcred_2')).toThrow();
    expect(() => cipher.open(v1, 'anything')).toThrow();
    const [v, iv, tag, ct] = v1.split('.');
    expect(() => cipher.open([v, iv, Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url'), ct].join('.'), 'anything', 'pcred_1')).toThrow();
  });

  it("reads a webhook secret of the first format (the former secret box's key, nothing bound), refusing a cut tag", () => {
    const webhooks = AesGcmCipher.forWebhookSecrets(SECRET);
    const v1 = firstFormat(createHash('sha256').update(`tollgate-secret-box:${SECRET}`).digest(), 'whsec_1', null);
    expect(webhooks.open(v1, 'any endpoint')).toBe('whsec_1');
    const [v, iv, tag, ct] = v1.split('.');
    expect(() => webhooks.open([v, iv, Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url'), ct].join('.'), 'x')).toThrow();
    expect(() => webhooks.open([v, iv, flip(tag), ct].join('.'), 'x')).toThrow();
  });

  it('derives a key of its own for each use by HKDF: neither opens the other', () => {
    expect(derivedKey(SECRET, PROVIDER_CREDENTIALS)).toHaveLength(32);
    expect(derivedKey(SECRET, PROVIDER_CREDENTIALS).equals(derivedKey(`${SECRET}x`, PROVIDER_CREDENTIALS))).toBe(false);
    expect(derivedKey(SECRET, PROVIDER_CREDENTIALS).equals(derivedKey(SECRET, WEBHOOK_SIGNING_SECRETS))).toBe(false);
    const webhooks = AesGcmCipher.forWebhookSecrets(SECRET);
    expect(() => webhooks.open(cipher.seal(KEY, 'c'), 'c')).toThrow();
    expect(() => cipher.open(webhooks.seal(KEY, 'c'), 'c')).toThrow();
  });
});
