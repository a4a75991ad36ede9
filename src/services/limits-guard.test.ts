import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import type { KeyRecord } from '../core/verify.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';
import type { ServiceDeps } from './context.js';
import { LimitsGuard } from './limits-guard.js';
import type { PolicyCache } from './policy-cache.js';

const record = (limits: KeyRecord['limits']): KeyRecord => keyRecord({ limits });

describe('LimitsGuard', () => {
  const policies = { get: () => ({ rateLimits: [], spend: null }) } as unknown as PolicyCache;
  const store = new MemoryLimitStore();
  const guard = new LimitsGuard({} as ServiceDeps, policies, {
    store,
    localStore: store,
    rateLimitFailure: 'open',
    budgetFailure: 'closed',
    defaultMaxOutputTokens: 16,
    onAlert: () => {},
    onStoreError: () => {},
  });
  const plan = (method: string, endpoint: string, model: string | null, body: Record<string, unknown> | null = null) =>
    planMetering({ method, endpoint, body, form: null, model, bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null });
  const input = (limits: KeyRecord['limits'], p = plan('POST', '/chat/completions', 'gpt-4o-mini')) => ({
    record: record(limits),
    model: p.model,
    endpoint: '/chat/completions',
    body: null,
    plan: p,
    nowMs: 1_000_000,
  });

  it('admits a key without limits synchronously, with no headers', () => {
    const a = guard.admit(input(null));
    expect(a).not.toBeInstanceOf(Promise);
    expect((a as { headers: Record<string, string> }).headers).toEqual({});
  });

  it('decides a limited key through the store', async () => {
    const a = guard.admit(input({ rate_limits: { max_requests_per_1_minute: 1 } }));
    expect(a).toBeInstanceOf(Promise);
    expect((await a).headers['x-ratelimit-remaining-requests']).toBe('0');
    await expect(guard.admit(input({ rate_limits: { max_requests_per_1_minute: 1 } }))).rejects.toMatchObject({ code: 'rate_limit_exceeded' });
  });

  it('refuses an unpriced model and an unmetered endpoint to a key with a spend limit, before the store is asked', async () => {
    const budget = { spend_limit: { threshold_amount: 100, interval: 'month' as const } };
    expect(() => guard.admit(input(budget, plan('POST', '/chat/completions', 'gpt-9-unknown')))).toThrow(expect.objectContaining({ code: 'model_not_priced', status: 403 }));
    expect(() => guard.admit(input(budget, plan('POST', '/batches', null)))).toThrow(expect.objectContaining({ code: 'endpoint_not_metered', status: 403 }));
    expect(() => guard.admit(input(budget, plan('POST', '/responses', 'gpt-4o', { background: true })))).toThrow(expect.objectContaining({ code: 'endpoint_not_metered' }));
    // A priced model, a read: past the check, on to the budget counters (which this stub cannot seed from a database).
    await expect(guard.admit(input(budget, plan('POST', '/chat/completions', 'o1-pro')))).rejects.toMatchObject({ code: 'service_unavailable' });
    await expect(guard.admit(input(budget, plan('GET', '/batches/batch_1', null)))).rejects.toMatchObject({ code: 'service_unavailable' });
    // Without a spend limit, nothing of the kind is refused (it is recorded, flagged, instead).
    expect(guard.admit(input(null, plan('POST', '/chat/completions', 'gpt-9-unknown')))).toMatchObject({ headers: {} });
    await expect(guard.admit(input({ rate_limits: { max_requests_per_1_minute: 100 } }, plan('POST', '/batches', null)))).resolves.toBeDefined();
  });
});
