import { describe, expect, it } from 'vitest';
import { open as openBox, seal as sealBox } from '../services/secret-box.js';
import { AesGcmCipher, providerCredentialKey } from './aes-gcm-cipher.js';

const SECRET = 'server-secret-for-the-cipher-test-0123456789';
const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

describe('AES-256-GCM cipher for provider credentials', () => {
  const cipher = new AesGcmCipher(SECRET);

  it('opens what it sealed, with a fresh IV each time, and never holds the plaintext in the ciphertext', () => {
    const a = cipher.seal(KEY, 'pcred_1');
    const b = cipher.seal(KEY, 'pcred_1');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain(KEY);
    expect(Buffer.from(a.split('.')[3], 'base64url').toString('latin1')).not.toContain('abcdefgh');
    expect(cipher.open(a, 'pcred_1')).toBe(KEY);
    expect(cipher.open(b, 'pcred_1')).toBe(KEY);
  });

  it('refuses a ciphertext that was altered anywhere, cut short, or is of another format', () => {
    const sealed = cipher.seal(KEY, 'pcred_1');
    const [v, iv, tag, ct] = sealed.split('.');
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[bytes.length - 1] ^= 1;
      return bytes.toString('base64url');
    };
    for (const bad of [
      [v, flip(iv), tag, ct].join('.'),
      [v, iv, flip(tag), ct].join('.'),
      [v, iv, tag, flip(ct)].join('.'),
      [v, iv, tag.slice(0, 8), ct].join('.'),
      [v, iv, tag, ct.slice(0, -2)].join('.'),
      ['v2', iv, tag, ct].join('.'),
      sealed.split('.').slice(0, 3).join('.'),
      '',
    ]) {
      expect(() => cipher.open(bad, 'pcred_1'), bad).toThrow();
    }
  });

  it('refuses a ciphertext moved onto another credential, or read under another server secret', () => {
    const sealed = cipher.seal(KEY, 'pcred_1');
    expect(() => cipher.open(sealed, 'pcred_2')).toThrow();
    expect(() => new AesGcmCipher(`${SECRET}x`).open(sealed, 'pcred_1')).toThrow();
  });

  it("derives a key of its own by HKDF: not the webhook secret box's, and different for another server secret", () => {
    expect(providerCredentialKey(SECRET)).toHaveLength(32);
    expect(providerCredentialKey(SECRET).equals(providerCredentialKey(`${SECRET}x`))).toBe(false);
    // Neither opens the other's ciphertext (the same format, different keys).
    expect(() => openBox(SECRET, cipher.seal(KEY, ''))).toThrow();
    expect(() => cipher.open(sealBox(SECRET, KEY), '')).toThrow();
  });
});
