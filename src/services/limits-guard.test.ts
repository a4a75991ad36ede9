import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import type { KeyRecord } from '../core/verify.js';
import type { LimitStore } from '../core/limit-store.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';

const record = (limits: KeyRecord['limits']): KeyRecord => keyRecord({ limits });

describe('LimitsGuard', () => {
  const guard = testGuard({}, new MemoryLimitStore());
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

  it('decides a limited key on the in-memory store at once: a grant is no promise, a refusal is thrown', () => {
    const limits = { rate_limits: { max_requests_per_1_minute: 1 } };
    const a = guard.admit(input(limits));
    expect(a).not.toBeInstanceOf(Promise);
    expect((a as { headers: Record<string, string> }).headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(() => guard.admit(input(limits))).toThrow(expect.objectContaining({ code: 'rate_limit_exceeded', status: 429 }));
  });

  it('waits for a store that answers later (Redis), with the same decisions, and reports a failed settlement', async () => {
    const memory = new MemoryLimitStore();
    const errors: unknown[] = [];
    const later: LimitStore = {
      acquire: async (rates, counters, nowMs) => memory.acquire(rates, counters, nowMs),
      adjust: async () => {
        throw new Error('connection lost');
      },
      seedCounter: (key, value, ttlSec, nowMs) => memory.seedCounter(key, value, ttlSec, nowMs),
      seedRate: (key, tat, periodMs, nowMs) => memory.seedRate(key, tat, periodMs, nowMs),
      close: async () => {},
    };
    const remote = testGuard({ clock: () => 1_000_000 }, later, undefined, { localStore: memory, onStoreError: (err) => errors.push(err) });
    const limits = { rate_limits: { max_requests_per_1_minute: 1, max_tokens_per_1_minute: 1000 } };
    const a = remote.admit(input(limits));
    expect(a).toBeInstanceOf(Promise);
    const admission = await a;
    expect(admission.headers['x-ratelimit-remaining-requests']).toBe('0');
    await expect(remote.admit(input(limits))).rejects.toMatchObject({ code: 'rate_limit_exceeded' });
    admission.settle({ tokens: { input: 1, cached: 0, output: 1 }, costNanoUsd: 0, billable: true });
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual([expect.objectContaining({ message: 'connection lost' })]);
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
    expect(guard.admit(input({ rate_limits: { max_requests_per_1_minute: 100 } }, plan('POST', '/batches', null)))).toMatchObject({ headers: expect.any(Object) });
  });
});
