import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileAllowlist } from './ip-rules.js';
import { generateSecret } from './key-format.js';
import { keyRecord } from '../../test/harness/key-record.js';
import { type KeyRecord, verifyFailureMessage, verifyKey } from './verify.js';

const base = keyRecord();

describe('verifyKey', () => {
  const v = (r: Partial<KeyRecord> | null, now = 1000, ip = '127.0.0.1') =>
    verifyKey({ record: r ? { ...base, ...r } : null, now, ip });

  it('accepts an active key', () => expect(v({})).toEqual({ ok: true }));
  it('refuses unknown, revoked, exposed', () => {
    expect(v(null)).toEqual({ ok: false, code: 'unknown' });
    expect(v({ status: 'revoked' })).toEqual({ ok: false, code: 'revoked' });
    expect(v({ status: 'exposed' })).toEqual({ ok: false, code: 'exposed' });
    expect(v({ status: 'suspended' })).toEqual({ ok: false, code: 'suspended' });
  });
  it('refuses at and after expiry', () => {
    expect(v({ expiresAt: 1001 }).ok).toBe(true);
    expect(v({ expiresAt: 1000 })).toEqual({ ok: false, code: 'expired' });
  });
  it('ends a rotated secret at the end of its grace period', () => {
    expect(v({ secretExpiresAt: 1001 }).ok).toBe(true);
    expect(v({ secretExpiresAt: 1000 })).toEqual({ ok: false, code: 'secret_rotated' });
  });
  it('refuses keys of archived projects', () => expect(v({ projectStatus: 'archived' })).toEqual({ ok: false, code: 'project_archived' }));
  it('applies key and project IP rules', () => {
    expect(v({ ipAllow: compileAllowlist(['10.0.0.0/8']) })).toEqual({ ok: false, code: 'ip_not_allowed' });
    expect(v({ ipAllow: compileAllowlist(['10.0.0.0/8']) }, 1000, '10.2.3.4').ok).toBe(true);
    expect(v({ projectIpAllow: compileAllowlist(['10.0.0.0/8']) })).toEqual({ ok: false, code: 'ip_not_allowed' });
  });
});

describe('verifyFailureMessage', () => {
  it('names where an exposed key was found, with any key in that place redacted (stored before reports were redacted)', () => {
    const other = generateSecret('project', randomBytes);
    const message = verifyFailureMessage('exposed', { ...base, status: 'exposed', exposedUrl: `file:///repo/${other}.env#L1` });
    expect(message).toBe(`This API key was disabled because it was found exposed at file:///repo/sk-tg-…${other.slice(-4)}.env#L1. Create a new key.`);
  });
});
