import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmailSchema, NameSchema, text } from './text-fields.js';

describe('text fields', () => {
  it('checks before trimming, so a refused character at an end is not trimmed away unseen', () => {
    expect(NameSchema.safeParse(' Mobile app ').data).toBe('Mobile app');
    expect(NameSchema.safeParse('Mobile app\n').success).toBe(false);
    expect(EmailSchema.safeParse(' Ops@Example.com ').data).toBe('ops@example.com');
    expect(EmailSchema.safeParse('ops@example.com\r').success).toBe(false);
  });

  it('caps the length and refuses control characters', () => {
    const t = text({ max: 4 });
    expect(t.safeParse('abcd').success).toBe(true);
    expect(t.safeParse('abcde').error?.issues[0].message).toBe('must be at most 4 characters');
    expect(t.safeParse('a\u0000').error?.issues[0].message).toMatch(/U\+0000/);
  });

  // The class, not the examples: a schema of the control plane with a bare z.string() is the next U+0000 500.
  it('is the only string type the control plane schemas use (passwords aside)', () => {
    const root = join(import.meta.dirname, '..');
    const files = ['services', 'http'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .map((f) => join(dir, f)),
    );
    expect(files.length).toBeGreaterThan(40);
    const offenders = files.filter((f) => {
      if (f === join('services', 'text-fields.ts') || f === join('services', 'passwords.ts')) return false;
      return /\bz\s*\.\s*string\s*\(/.test(readFileSync(join(root, f), 'utf8'));
    });
    expect(offenders).toEqual([]);
  });
});
