import { describe, expect, it } from 'vitest';
import { changedSettings, type KeySettings } from './key-changes.js';

const before: KeySettings = {
  name: 'worker',
  permissions: { restricted: { models: 'read', 'chat.completions': 'write' } },
  expires_at: null,
  allowed_ips: ['10.0.0.0/8'],
  allowed_models: null,
  rate_limits: { max_requests_per_1_minute: 30 },
  spend_limit: { threshold_amount: 1000, interval: 'month' },
  request_quota: null,
};

describe('changedSettings', () => {
  it('leaves out fields sent with the value the key has, however they are spelled', () => {
    expect(
      changedSettings(
        {
          name: 'worker',
          permissions: { restricted: { 'chat.completions': 'write', models: 'read' } },
          expires_at: null,
          allowed_ips: ['10.0.0.0/8'],
          allowed_models: [],
          rate_limits: { max_requests_per_1_minute: 30, max_tokens_per_1_minute: null, max_requests_per_1_day: null },
          spend_limit: { threshold_amount: 1000, interval: 'month' },
          request_quota: null,
        },
        before,
      ),
    ).toEqual({});
  });

  it('keeps the fields whose values change, as sent', () => {
    expect(
      changedSettings({ name: 'worker', allowed_ips: ['10.0.0.0/8', '192.0.2.1'], rate_limits: null, spend_limit: { threshold_amount: 1000, interval: 'week' } }, before),
    ).toEqual({ allowed_ips: ['10.0.0.0/8', '192.0.2.1'], rate_limits: null, spend_limit: { threshold_amount: 1000, interval: 'week' } });
    expect(changedSettings({ permissions: 'all', expires_at: 2_000_000_000, allowed_models: ['gpt-4o-mini'] }, before)).toEqual({
      permissions: 'all',
      expires_at: 2_000_000_000,
      allowed_models: ['gpt-4o-mini'],
    });
  });

  it('counts a spend limit without its interval as a change (the default is not assumed)', () => {
    expect(changedSettings({ spend_limit: { threshold_amount: 1000 } }, before)).toEqual({ spend_limit: { threshold_amount: 1000 } });
  });
});
