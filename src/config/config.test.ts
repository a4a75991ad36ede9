import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('reads the usage group window (TOLLGATE_USAGE_GROUP_MS, 5 ms by default) and refuses a bad one', () => {
    expect(loadConfig({}).usageGroupMs).toBe(5);
    expect(loadConfig({ TOLLGATE_USAGE_GROUP_MS: '20' }).usageGroupMs).toBe(20);
    expect(() => loadConfig({ TOLLGATE_USAGE_GROUP_MS: '-1' })).toThrow(/TOLLGATE_USAGE_GROUP_MS/);
  });

  it('reads TOLLGATE_USAGE_RETENTION_DAYS (35 by default, or forever) and refuses anything else, readably', () => {
    expect(loadConfig({}).usageRetentionDays).toBe(35);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '' }).usageRetentionDays).toBe(35);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '1' }).usageRetentionDays).toBe(1);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '400' }).usageRetentionDays).toBe(400);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '36500' }).usageRetentionDays).toBe(36_500);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: 'forever' }).usageRetentionDays).toBeNull();
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: ' Forever ' }).usageRetentionDays).toBeNull();
    for (const bad of ['0', '-1', '1.5', '1e3', '0x10', '36501', 'never', '35 days', 'Infinity']) {
      expect(() => loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: bad }), bad).toThrow(
        /Invalid configuration:\n {2}TOLLGATE_USAGE_RETENTION_DAYS: expected a whole number of days from 1 to 36500, or "forever"/,
      );
    }
  });

  it('takes TOLLGATE_SETUP_TOKEN when it is 20 to 256 printable characters, and never echoes a refused one', () => {
    expect(loadConfig({}).setupToken).toBeUndefined();
    expect(loadConfig({ TOLLGATE_SETUP_TOKEN: '' }).setupToken).toBeUndefined();
    const token = 'install-7Qm2-rP9x-Lk4z-Wt8c';
    expect(loadConfig({ TOLLGATE_SETUP_TOKEN: token }).setupToken).toBe(token);
    for (const bad of ['short-but-secret', 'has a space in it somewhere', `x${'y'.repeat(256)}`, 'control\u0007characters-here-1234']) {
      let message = '';
      try {
        loadConfig({ TOLLGATE_SETUP_TOKEN: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/TOLLGATE_SETUP_TOKEN must be 20 to 256 printable ASCII characters/);
      expect(message).not.toContain(bad);
    }
  });

  it('takes TOLLGATE_TRUST_PROXY as addresses, CIDR ranges and proxy-addr presets under the allowlist rules', () => {
    expect(loadConfig({ TOLLGATE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8, ::1, loopback, uniquelocal' }).trustProxy).toBe('127.0.0.1, 10.0.0.0/8, ::1, loopback, uniquelocal');
    for (const bad of ['010.0.0.1', '127.1', '10.0.0.1/8', 'localhost', '10.0.0.0/255.0.0.0', '127.0.0.1,']) {
      expect(() => loadConfig({ TOLLGATE_TRUST_PROXY: bad }), bad).toThrow(/TOLLGATE_TRUST_PROXY: "/);
    }
  });
});
