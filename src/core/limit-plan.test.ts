import { describe, expect, it } from 'vitest';
import { hasAnyLimit, limitChecks, planHolds, planLimits, type ProjectPolicy } from './limit-plan.js';
import { keyRange, ttlSecondsUntil, windowKeyTtlSeconds } from './periods.js';

/** Seconds a counter key of one period lives: its end plus a day of slack. */
const keyTtlSeconds = (key: string, now: number) => ttlSecondsUntil(keyRange(key).end, now);

const key = (limits: Parameters<typeof planLimits>[0]['limits']) => ({ id: 'key_1', orgId: 'org-1', projectId: 'proj_1', limits });
const at = (iso: string) => Date.parse(iso);
const rateLimit = (model: string, rpm: number | null, tpm: number | null = null) => ({
  model,
  max_requests_per_1_minute: rpm,
  max_tokens_per_1_minute: tpm,
  max_requests_per_1_day: null,
});

describe('planLimits', () => {
  it("holds a model's project limit for its dated snapshots too, in the model's own bucket, never for another model", () => {
    const policy: ProjectPolicy = { rateLimits: [rateLimit('gpt-4o', 1), rateLimit('claude-sonnet-4-5', 2), rateLimit('gpt-4o-2024-08-06', 3)], spend: null };
    const keysFor = (model: string) => planLimits(key(null), policy, null, model, at('2026-05-06T12:00:00Z')).rates.map((r) => r.key);
    expect(keysFor('gpt-4o')).toEqual(['rl:p:proj_1:gpt-4o:rpm:1']);
    expect(keysFor('gpt-4o-2024-11-20')).toEqual(['rl:p:proj_1:gpt-4o:rpm:1']);
    expect(keysFor('gpt-4o-2024-08-06')).toEqual(['rl:p:proj_1:gpt-4o:rpm:1', 'rl:p:proj_1:gpt-4o-2024-08-06:rpm:3']);
    expect(keysFor('claude-sonnet-4-5-20250929')).toEqual(['rl:p:proj_1:claude-sonnet-4-5:rpm:2']);
    for (const other of ['gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'gpt-4o-audio-preview', 'gpt-4o-2024-13-01']) expect(keysFor(other), other).toEqual([]);
    // Moving aliases: `-latest`, and Anthropic's `-0`.
    const aliases: ProjectPolicy = { rateLimits: [rateLimit('claude-3-7-sonnet', 4), rateLimit('claude-sonnet-4', 5)], spend: null };
    const aliasKeys = (model: string) => planLimits(key(null), aliases, null, model, at('2026-05-06T12:00:00Z')).rates.map((r) => r.key);
    expect(aliasKeys('claude-3-7-sonnet-latest')).toEqual(['rl:p:proj_1:claude-3-7-sonnet:rpm:4']);
    expect(aliasKeys('claude-sonnet-4-0')).toEqual(['rl:p:proj_1:claude-sonnet-4:rpm:5']);
    expect(aliasKeys('claude-sonnet-4-20250514')).toEqual(['rl:p:proj_1:claude-sonnet-4:rpm:5']);
    expect(aliasKeys('claude-sonnet-4-5')).toEqual([]);
  });

  it("lists the key's rates, the project's for all models and for this model only, then quota and budgets, in order", () => {
    const policy: ProjectPolicy = {
      rateLimits: [rateLimit('*', 100), rateLimit('gpt-4o', null, 5000), rateLimit('o3', 7)],
      spend: { thresholdCents: 500, interval: 'week', enforced: false, alerts: [] },
    };
    const orgSpend = { thresholdCents: 900, interval: 'day' as const, enforced: true, alerts: [] };
    const plan = planLimits(
      key({
        rate_limits: { max_requests_per_1_minute: 10, max_requests_per_1_day: 20, max_tokens_per_1_minute: 30 },
        request_quota: { max_requests: 40 },
        spend_limit: { threshold_amount: 50, interval: 'rolling_3d' },
      }),
      policy,
      orgSpend,
      'gpt-4o',
      at('2026-05-06T12:00:00Z'),
    );
    expect(plan.rates.map((r) => [r.key, r.periodMs])).toEqual([
      ['rl:k:key_1:rpm:10', 60_000],
      ['rl:k:key_1:rpd:20', 86_400_000],
      ['rl:k:key_1:tpm:30', 60_000],
      ['rl:p:proj_1:*:rpm:100', 60_000],
      ['rl:p:proj_1:gpt-4o:tpm:5000', 60_000],
    ]);
    expect(plan.counters.map((c) => [c.kind, c.keys, c.cap, c.storeCap, c.period, c.scopeId])).toEqual([
      ['quota', ['q:k:key_1:total'], 40, 40, 'total', 'key_1'],
      ['key_budget', ['s:k:key_1:d2026-05-06', 's:k:key_1:d2026-05-05', 's:k:key_1:d2026-05-04'], 500_000_000, 500_000_000, 'd2026-05-06', 'key_1'],
      // A limit that is not enforced is never refused by the store, but the headers still see its cap.
      ['project_budget', ['s:p:proj_1:w2026-05-04'], 5_000_000_000, Number.MAX_SAFE_INTEGER, 'w2026-05-04', 'proj_1'],
      ['org_budget', ['s:o:org-1:d2026-05-06'], 9_000_000_000, 9_000_000_000, 'd2026-05-06', 'org-1'],
    ]);
    // A key's budget tells at 50, 80 and 100 % of it; a project's or organization's only by its spend alerts.
    expect(plan.counters[1].alerts.map((a) => [a.percent, a.atNano])).toEqual([
      [50, 250_000_000],
      [80, 400_000_000],
      [100, 500_000_000],
    ]);
    expect(plan.counters[2].alerts).toEqual([]);
    // It holds for the day its shortest period is in (the rolling window's current day, the organization's day).
    expect([plan.fromMs, plan.untilMs]).toEqual([at('2026-05-06T00:00:00Z'), at('2026-05-07T00:00:00Z')]);
  });

  it("puts spend alerts on a monthly limit's counter, else on a month counter of their own that refuses nothing", () => {
    const alert = (id: string, cents: number) => ({ id, thresholdCents: cents, recipients: ['ops@example.com'], subjectPrefix: null });
    const now = at('2026-05-06T12:00:00Z');
    const monthly: ProjectPolicy = { rateLimits: [], spend: { thresholdCents: 1000, interval: 'month', enforced: true, alerts: [alert('alert_a', 300)] } };
    const one = planLimits(key(null), monthly, null, null, now);
    expect(one.counters.map((c) => [c.kind, c.keys, c.cap, c.storeCap])).toEqual([['project_budget', ['s:p:proj_1:m2026-05'], 10_000_000_000, 10_000_000_000]]);
    expect(one.counters[0].alerts).toEqual([{ atNano: 3_000_000_000, percent: null, spendAlert: alert('alert_a', 300) }]);

    const daily: ProjectPolicy = { rateLimits: [], spend: { thresholdCents: 1000, interval: 'day', enforced: true, alerts: [alert('alert_b', 5000)] } };
    const orgAlertsOnly = { thresholdCents: null, interval: 'month' as const, enforced: false, alerts: [alert('alert_c', 0)] };
    const two = planLimits(key(null), daily, orgAlertsOnly, null, now);
    expect(two.counters.map((c) => [c.kind, c.keys, c.cap, c.storeCap, c.alerts.map((a) => a.spendAlert?.id)])).toEqual([
      ['project_budget', ['s:p:proj_1:d2026-05-06'], 10_000_000_000, 10_000_000_000, []],
      ['project_budget', ['s:p:proj_1:m2026-05'], Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, ['alert_b']],
      ['org_budget', ['s:o:org-1:m2026-05'], Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, ['alert_c']],
    ]);
    expect(hasAnyLimit(null, null, orgAlertsOnly)).toBe(true);
    expect(hasAnyLimit(null, { rateLimits: [], spend: null }, { ...orgAlertsOnly, alerts: [] })).toBe(false);
  });

  it('holds within its periods only, on either side', () => {
    const plan = planLimits(key({ spend_limit: { threshold_amount: 1 } }), null, null, null, at('2026-02-10T00:00:00Z'));
    expect(plan.counters[0].keys).toEqual(['s:k:key_1:m2026-02']);
    expect(planHolds(plan, at('2026-02-01T00:00:00Z'))).toBe(true);
    expect(planHolds(plan, at('2026-02-28T23:59:59.999Z'))).toBe(true);
    expect(planHolds(plan, at('2026-03-01T00:00:00Z'))).toBe(false);
    expect(planHolds(plan, at('2026-01-31T23:59:59.999Z'))).toBe(false);
    // Rates alone hold for ever.
    const rates = planLimits(key({ rate_limits: { max_requests_per_1_minute: 1 } }), null, null, null, 0);
    expect(planHolds(rates, at('2099-01-01T00:00:00Z'))).toBe(true);
  });

  it('lays one request onto the plan: tokens on TPM, 1 on requests and quotas, the cost on budgets, expiry from now', () => {
    const now = at('2026-02-10T08:00:00Z');
    const plan = planLimits(
      key({ rate_limits: { max_requests_per_1_minute: 5, max_tokens_per_1_minute: 50 }, request_quota: { max_requests: 9, interval: 'day' }, spend_limit: { threshold_amount: 1 } }),
      null,
      null,
      null,
      now,
    );
    const later = now + 3_600_000;
    const { rates, counters } = limitChecks(plan, 321, 654.5, later);
    expect(rates.map((r) => r.cost)).toEqual([1, 321]);
    // A request whose most is more than its estimate (images, input by reference) reserves up to that most on TPM,
    // never past the whole limit nor below the estimate; requests stay 1.
    expect(limitChecks(plan, 10, 0, later, 30).rates.map((r) => r.cost)).toEqual([1, 30]);
    expect(limitChecks(plan, 10, 0, later, 5_000).rates.map((r) => r.cost)).toEqual([1, 50]);
    expect(limitChecks(plan, 10, 0, later, 5).rates.map((r) => r.cost)).toEqual([1, 10]);
    expect(counters.map((c) => [c.amount, c.cap, c.ttlSec])).toEqual([
      [1, 9, keyTtlSeconds('d2026-02-10', later)],
      [654.5, 10_000_000, keyTtlSeconds('m2026-02', later)],
    ]);
  });

  it("keeps a rolling window's day for as long as the window reads it: N - 1 days past its end, and a day of slack", () => {
    const now = at('2026-02-10T08:00:00Z');
    const plan = planLimits(key({ spend_limit: { threshold_amount: 1, interval: 'rolling_7d' } }), null, null, null, now);
    const [counter] = limitChecks(plan, 1, 1, now).counters;
    expect(counter.keys).toHaveLength(7);
    // Today's key, charged now, is read until the window that starts with it ends: 2026-02-17T00:00Z, plus a day.
    expect(counter.ttlSec).toBe((at('2026-02-17T00:00:00Z') - now) / 1000 + 86_400);
    // A day past its end is still read by the window for the days left (seeded again, it is not forgotten in a minute).
    expect(windowKeyTtlSeconds(at('2026-02-08T00:00:00Z'), 7, now)).toBe((at('2026-02-14T00:00:00Z') - now) / 1000 + 86_400);
    // A single period is kept as before.
    expect(windowKeyTtlSeconds(at('2026-02-11T00:00:00Z'), 1, now)).toBe(keyTtlSeconds('d2026-02-10', now));
  });

  it('asks the store to rebuild RPD from stored usage when it lacks it, never RPM or TPM, and names the model of project limits', () => {
    const policy: ProjectPolicy = { rateLimits: [{ ...rateLimit('*', 3), max_requests_per_1_day: 8 }, { ...rateLimit('o3', null, 9), max_requests_per_1_day: 7 }], spend: null };
    const plan = planLimits(key({ rate_limits: { max_requests_per_1_minute: 5, max_requests_per_1_day: 6, max_tokens_per_1_minute: 50 } }), policy, null, 'o3', 0);
    expect(plan.rates.map((r) => [r.key, r.model])).toEqual([
      ['rl:k:key_1:rpm:5', null],
      ['rl:k:key_1:rpd:6', null],
      ['rl:k:key_1:tpm:50', null],
      ['rl:p:proj_1:*:rpm:3', '*'],
      ['rl:p:proj_1:*:rpd:8', '*'],
      ['rl:p:proj_1:o3:rpd:7', 'o3'],
      ['rl:p:proj_1:o3:tpm:9', 'o3'],
    ]);
    expect(limitChecks(plan, 10, 0, 0).rates.map((r) => r.seedable)).toEqual([false, true, false, false, true, true, false]);
  });

  it("names an RPD's setting in its bucket's key, so that a limit set back to an earlier value gets a new bucket; RPM's and TPM's name the value alone", () => {
    const limits = { rate_limits: { max_requests_per_1_minute: 5, max_requests_per_1_day: 10, max_tokens_per_1_minute: 50 } };
    const policy = (rpdRev: string | null): ProjectPolicy => ({ rateLimits: [{ ...rateLimit('*', 3), max_requests_per_1_day: 10, rpdRev }], spend: null });
    const keys = (rpdRev: string | null) => planLimits({ ...key(limits), rpdRev }, policy(rpdRev), null, 'o3', 0).rates.map((r) => r.key);
    expect(keys('a1')).toEqual(['rl:k:key_1:rpm:5', 'rl:k:key_1:rpd:10:a1', 'rl:k:key_1:tpm:50', 'rl:p:proj_1:*:rpm:3', 'rl:p:proj_1:*:rpd:10:a1']);
    // 10, then 20, then 10 again: each setting is another rev, so the first's bucket is not found again.
    expect(keys('c3')).toEqual(['rl:k:key_1:rpm:5', 'rl:k:key_1:rpd:10:c3', 'rl:k:key_1:tpm:50', 'rl:p:proj_1:*:rpm:3', 'rl:p:proj_1:*:rpd:10:c3']);
    // A limit never changed since it was made (or before migration 106) keeps the key it had.
    expect(keys(null)).toEqual(['rl:k:key_1:rpm:5', 'rl:k:key_1:rpd:10', 'rl:k:key_1:tpm:50', 'rl:p:proj_1:*:rpm:3', 'rl:p:proj_1:*:rpd:10']);
  });

  it("names the setting of a quota's or spend limit's interval in its counters' keys, before the period", () => {
    const limits = { request_quota: { max_requests: 10, interval: 'month' as const }, spend_limit: { threshold_amount: 100, interval: 'rolling_2d' as const } };
    const spend = (rev: string | null) => ({ thresholdCents: 500, interval: 'week' as const, enforced: true, alerts: [{ id: 'alert_1', thresholdCents: 100, recipients: [], subjectPrefix: null }], rev });
    const keys = (rev: string | null) =>
      planLimits({ ...key(limits), quotaRev: rev && `q${rev}`, spendRev: rev && `s${rev}` }, { rateLimits: [], spend: spend(rev && `p${rev}`) }, spend(rev && `o${rev}`), null, at('2026-05-06T12:00:00Z')).counters.map((c) => c.keys);
    expect(keys('1')).toEqual([
      ['q:k:key_1:q1:m2026-05'],
      ['s:k:key_1:s1:d2026-05-06', 's:k:key_1:s1:d2026-05-05'],
      ['s:p:proj_1:p1:w2026-05-04'],
      ['s:p:proj_1:p1:m2026-05'], // the spend alerts' month, beside a weekly limit
      ['s:o:org-1:o1:w2026-05-04'],
      ['s:o:org-1:o1:m2026-05'],
    ]);
    expect(keys(null)).toEqual([
      ['q:k:key_1:m2026-05'],
      ['s:k:key_1:d2026-05-06', 's:k:key_1:d2026-05-05'],
      ['s:p:proj_1:w2026-05-04'],
      ['s:p:proj_1:m2026-05'],
      ['s:o:org-1:w2026-05-04'],
      ['s:o:org-1:m2026-05'],
    ]);
  });
});
