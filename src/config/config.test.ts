import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('reads the usage group window (TOLLGATE_USAGE_GROUP_MS, 5 ms by default) and refuses a bad one', () => {
    expect(loadConfig({}).usageGroupMs).toBe(5);
    expect(loadConfig({ TOLLGATE_USAGE_GROUP_MS: '20' }).usageGroupMs).toBe(20);
    expect(() => loadConfig({ TOLLGATE_USAGE_GROUP_MS: '-1' })).toThrow(/TOLLGATE_USAGE_GROUP_MS/);
  });
});
