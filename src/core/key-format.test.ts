import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';
import { checksumOf, generateSecret, hashSecret, hasSecretLength, parseSecret, redactSecret, SECRET_PATTERN_SOURCE } from './key-format.js';

const rnd = (n: number) => randomBytes(n);

describe('secret format', () => {
  it('generates project and admin secrets with a valid checksum', () => {
    for (let i = 0; i < 200; i++) {
      const p = generateSecret('project', rnd);
      const a = generateSecret('admin', rnd);
      expect(p).toMatch(/^sk-tg-[0-9A-Za-z]{46}$/);
      expect(a).toMatch(/^sk-tg-admin-[0-9A-Za-z]{46}$/);
      expect(parseSecret(p)?.kind).toBe('project');
      expect(parseSecret(a)?.kind).toBe('admin');
      expect(new RegExp(`^${SECRET_PATTERN_SOURCE}$`).test(p)).toBe(true);
    }
  });

  it('knows the lengths of both secret kinds', () => {
    const rnd = (n: number) => new Uint8Array(randomBytes(n));
    expect(hasSecretLength(generateSecret('project', rnd))).toBe(true);
    expect(hasSecretLength(generateSecret('admin', rnd))).toBe(true);
    expect(hasSecretLength(`${generateSecret('project', rnd)}x`)).toBe(false);
    expect(hasSecretLength('sk-tg-short')).toBe(false);
  });

  it('is unique and uses the whole alphabet', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = generateSecret('project', rnd);
      seen.add(s);
      for (const c of s.slice(6, 46)) chars.add(c);
    }
    expect(seen.size).toBe(2000);
    expect(chars.size).toBe(62);
  });

  it('rejects any single-character change (checksum)', () => {
    const s = generateSecret('project', rnd);
    let rejected = 0;
    for (let i = 6; i < s.length; i++) {
      const c = s[i] === 'a' ? 'b' : 'a';
      if (parseSecret(s.slice(0, i) + c + s.slice(i + 1)) === null) rejected++;
    }
    expect(rejected).toBe(s.length - 6);
  });

  it('rejects malformed candidates', () => {
    const s = generateSecret('project', rnd);
    expect(parseSecret(s.slice(0, -1))).toBeNull();
    expect(parseSecret(`${s}x`)).toBeNull();
    expect(parseSecret(s.replace('sk-tg-', 'sk-xx-'))).toBeNull();
    expect(parseSecret(`${s.slice(0, 20)}-${s.slice(21)}`)).toBeNull();
    expect(parseSecret('')).toBeNull();
  });

  it('computes the IEEE CRC-32 and a 6-char base62 checksum', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(checksumOf('a'.repeat(40))).toHaveLength(6);
  });

  it('hashes with SHA-256 and redacts to the last four characters', () => {
    const s = generateSecret('project', rnd);
    expect(hashSecret(s)).toMatch(/^[0-9a-f]{64}$/);
    expect(redactSecret(s)).toBe(`sk-tg-…${s.slice(-4)}`);
    expect(redactSecret(generateSecret('admin', rnd))).toMatch(/^sk-tg-admin-….{4}$/);
  });
});
