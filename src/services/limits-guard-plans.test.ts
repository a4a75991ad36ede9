import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import type { ProjectPolicy } from '../core/limit-plan.js';
import type { CounterCheck, RateCheck } from '../core/limit-store.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';
import type { LimitsGuard } from './limits-guard.js';

// The guard reuses a key's limit plan across requests: these check that a reused plan never outlives what it was
// planned from (the period, the project's policy, the model of a per-model limit).

/** A memory store that notes the keys each decision was asked about, with every counter present (seeded at 0). */
class RecordingStore extends MemoryLimitStore {
  readonly asked: string[][] = [];
  override acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number) {
    this.asked.push([...rates.map((r) => r.key), ...counters.map((c) => c.keys[0])]);
    // The memory store seeds at once (its promise is already settled when returned).
    for (const c of counters) for (const k of c.keys) void this.seedCounter(k, 0, 0, nowMs);
    return super.acquire(rates, counters, nowMs);
  }
}

function setup(policy: { current: ProjectPolicy }) {
  const store = new RecordingStore();
  return { store, guard: testGuard({ clock: () => 0 }, store, () => policy.current) };
}

const plan = (model: string) => planMetering({ method: 'POST', endpoint: '/chat/completions', body: null, form: null, model, bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null });

describe('LimitsGuard plan reuse', () => {
  const record = keyRecord({ limits: { rate_limits: { max_requests_per_1_minute: 1000 }, spend_limit: { threshold_amount: 100, interval: 'day' } } });
  const admit = (guard: LimitsGuard, nowMs: number, model = 'gpt-4o-mini', r = record) =>
    guard.admit({ record: r, model, endpoint: '/chat/completions', body: null, plan: plan(model), nowMs });

  it("charges each request to its own period's counter, whichever way the clock moves", async () => {
    const { store, guard } = setup({ current: { rateLimits: [], spend: null } });
    const budget = keyRecord({ limits: { spend_limit: { threshold_amount: 100, interval: 'day' } } });
    await admit(guard, Date.parse('2026-03-01T23:59:59.999Z'), 'gpt-4o-mini', budget);
    await admit(guard, Date.parse('2026-03-02T00:00:00Z'), 'gpt-4o-mini', budget);
    await admit(guard, Date.parse('2026-03-01T12:00:00Z'), 'gpt-4o-mini', budget);
    expect(store.asked.map((keys) => keys[0])).toEqual(['s:k:key_1:d2026-03-01', 's:k:key_1:d2026-03-02', 's:k:key_1:d2026-03-01']);
  });

  it("follows a project's changed policy at once", async () => {
    const policy = { current: { rateLimits: [], spend: null } as ProjectPolicy };
    const { store, guard } = setup(policy);
    const now = Date.parse('2026-03-01T10:00:00Z');
    await admit(guard, now);
    policy.current = { rateLimits: [{ model: '*', max_requests_per_1_minute: 50, max_tokens_per_1_minute: null, max_requests_per_1_day: null }], spend: null };
    await admit(guard, now);
    expect(store.asked[0]).not.toContain('rl:p:proj_1:*:rpm:50');
    expect(store.asked[1]).toContain('rl:p:proj_1:*:rpm:50');
  });

  it("applies a project's per-model limit to that model's requests only, in any order", async () => {
    const { store, guard } = setup({
      current: { rateLimits: [{ model: 'o3', max_requests_per_1_minute: 7, max_tokens_per_1_minute: null, max_requests_per_1_day: null }], spend: null },
    });
    const now = Date.parse('2026-03-01T10:00:00Z');
    await admit(guard, now, 'gpt-4o-mini');
    await admit(guard, now, 'o3');
    await admit(guard, now, 'gpt-4o-mini');
    expect(store.asked.map((keys) => keys.includes('rl:p:proj_1:o3:rpm:7'))).toEqual([false, true, false]);
  });
});
