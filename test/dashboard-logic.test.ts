import { describe, expect, it } from 'vitest';
import { typedCents } from '../dashboard/src/dollars.js';
import { expiryLabel, formatUtcTick, fromUtcDateInput, intervalLabel, toUtcDateInput } from '../dashboard/src/format.js';
import { bodyOf, changedFields, draftOf, EMPTY_DRAFT, expiresAtFor, parseList } from '../dashboard/src/pages/api-keys/key-form-fields.js';
import { parseLimits } from '../dashboard/src/pages/limits/rate-limit-fields.js';
import { costRows, costTotal, mergeKinds, USAGE_CSV_HEADER, usageCsv, usageTotals } from '../dashboard/src/pages/usage/usage-data.js';
import type { Bucket, CostResult, UsageResult } from '../dashboard/src/pages/usage/usage-types.js';
import type { ProjectApiKey } from '../dashboard/src/types.js';

// The dashboard's pure parts: what the key dialogs send, how usage is summed and exported, how expiry reads.

const NOW_MS = Date.UTC(2026, 2, 4, 12, 0, 0);

describe('key dialog fields', () => {
  it('sends every setting the API takes for a key, empty ones as null (none)', () => {
    const r = bodyOf(
      {
        ...EMPTY_DRAFT,
        name: '  billing worker ',
        expiry: '30',
        ips: '203.0.113.7, 10.0.0.0/8\n203.0.113.7',
        models: 'gpt-4o-mini\ntext-embedding-3-small',
        rpm: '60',
        tpm: '10,000',
        rpd: '',
        spend: '$12.50',
        spendInterval: 'week',
        quota: '5000',
        quotaInterval: 'day',
      },
      NOW_MS,
    );
    expect(r).toEqual({
      ok: true,
      body: {
        name: 'billing worker',
        permissions: 'all',
        expires_at: NOW_MS / 1000 + 30 * 86_400,
        allowed_ips: ['203.0.113.7', '10.0.0.0/8'],
        allowed_models: ['gpt-4o-mini', 'text-embedding-3-small'],
        rate_limits: { max_requests_per_1_minute: 60, max_tokens_per_1_minute: 10_000, max_requests_per_1_day: null },
        spend_limit: { threshold_amount: 1250, interval: 'week' },
        request_quota: { max_requests: 5000, interval: 'day' },
      },
    });
    expect(bodyOf(EMPTY_DRAFT, NOW_MS)).toEqual({
      ok: true,
      body: { permissions: 'all', expires_at: null, allowed_ips: null, allowed_models: null, rate_limits: null, spend_limit: null, request_quota: null },
    });
  });

  it('names the field of the first problem', () => {
    expect(bodyOf({ ...EMPTY_DRAFT, rpm: '1.5' }, NOW_MS)).toMatchObject({ ok: false, field: 'rpm' });
    expect(bodyOf({ ...EMPTY_DRAFT, quota: '-3' }, NOW_MS)).toMatchObject({ ok: false, field: 'quota' });
    expect(bodyOf({ ...EMPTY_DRAFT, spend: '0' }, NOW_MS)).toMatchObject({ ok: false, field: 'spend' });
    expect(bodyOf({ ...EMPTY_DRAFT, spend: 'ten' }, NOW_MS)).toMatchObject({ ok: false, field: 'spend' });
    // Number's other spellings are not amounts, and a third decimal is refused rather than rounded.
    for (const spend of ['0x19', '1e3', '9.999', '$', '-5', '25$']) expect(bodyOf({ ...EMPTY_DRAFT, spend }, NOW_MS)).toMatchObject({ ok: false, field: 'spend' });
    expect(bodyOf({ ...EMPTY_DRAFT, spend: ' $ 9.5 ' }, NOW_MS)).toMatchObject({ ok: true, body: { spend_limit: { threshold_amount: 950 } } });
    expect(bodyOf({ ...EMPTY_DRAFT, expiry: 'custom', customDate: '' }, NOW_MS)).toMatchObject({ ok: false, field: 'date' });
    expect(bodyOf({ ...EMPTY_DRAFT, expiry: 'custom', customDate: '2026-03-01' }, NOW_MS)).toMatchObject({ ok: false, field: 'date' });
  });

  it("refuses limits and quotas in Number's other spellings, which it saved as numbers the user did not type", () => {
    // "0x19" was saved as 25, "1e3" as 1000, "0b101" as 5, "1,5" as 15, "2_0" as 20.
    for (const field of ['rpm', 'tpm', 'rpd', 'quota'] as const) {
      for (const typed of ['0x19', '1e3', '0b101', '1,5', '2_0', '1 000']) {
        expect(bodyOf({ ...EMPTY_DRAFT, [field]: typed }, NOW_MS), `${field} ${typed}`).toMatchObject({ ok: false, field });
      }
    }
    const r = bodyOf({ ...EMPTY_DRAFT, rpm: ' 1,000 ', tpm: '250000', rpd: '12,500,000', quota: '7' }, NOW_MS);
    expect(r).toMatchObject({
      ok: true,
      body: { rate_limits: { max_requests_per_1_minute: 1000, max_tokens_per_1_minute: 250_000, max_requests_per_1_day: 12_500_000 }, request_quota: { max_requests: 7 } },
    });
    expect(bodyOf({ ...EMPTY_DRAFT, rpm: '0' }, NOW_MS)).toMatchObject({ ok: false, field: 'rpm' });
  });

  it('reads the project rate-limit form as the key dialog does', () => {
    const draft = { max_requests_per_1_minute: '', max_tokens_per_1_minute: '', max_requests_per_1_day: '' };
    // It refused "1,000", which the key dialog takes, and took "0x19" as 25.
    expect(parseLimits({ ...draft, max_requests_per_1_minute: '1,000', max_tokens_per_1_minute: '90000' })).toEqual({
      max_requests_per_1_minute: 1000,
      max_tokens_per_1_minute: 90_000,
      max_requests_per_1_day: null,
    });
    for (const typed of ['0x19', '1e3', '0b101', '1,5', '2_0', '0', '-1', '1.5']) {
      expect(parseLimits({ ...draft, max_requests_per_1_day: typed }), typed).toBe('Requests / day must be a positive whole number, or empty for no limit.');
    }
  });

  it('keeps an edited key expiry unless changed, and reads its settings back', () => {
    const key = {
      name: 'k',
      permissions: 'read_only',
      expires_at: NOW_MS / 1000 + 86_400,
      allowed_ips: ['10.0.0.1'],
      allowed_models: null,
      rate_limits: { max_requests_per_1_day: 100 },
      spend_limit: { threshold_amount: 999, interval: 'rolling_7d' },
      request_quota: null,
    } as unknown as ProjectApiKey;
    const draft = draftOf(key);
    expect(draft).toMatchObject({ expiry: 'keep', ips: '10.0.0.1', rpd: '100', spend: '9.99', spendInterval: 'rolling_7d', quotaInterval: 'total' });
    const r = bodyOf(draft, NOW_MS);
    expect(r.ok && 'expires_at' in r.body).toBe(false);
    expect(r.ok && r.body.spend_limit).toEqual({ threshold_amount: 999, interval: 'rolling_7d' });
    expect(expiresAtFor('never', '')).toBeNull();
    expect(expiresAtFor('keep', '')).toBeUndefined();
    expect(parseList(' , \n ')).toBeNull();
  });

  it('an edit sends only the fields that differ from the key it opened with', () => {
    const key = {
      name: 'k',
      permissions: { restricted: { models: 'read', embeddings: 'write' } },
      expires_at: null,
      allowed_ips: ['10.0.0.1'],
      allowed_models: ['gpt-4o-mini'],
      rate_limits: { max_requests_per_1_day: 100 },
      spend_limit: null,
      request_quota: null,
    } as unknown as ProjectApiKey;
    const opened = bodyOf(draftOf(key), NOW_MS);
    const edited = (d: Partial<ReturnType<typeof draftOf>>) => {
      const r = bodyOf({ ...draftOf(key), ...d }, NOW_MS);
      if (!opened.ok || !r.ok) throw new Error('invalid draft');
      return changedFields(opened.body, r.body);
    };
    expect(edited({})).toEqual({});
    // The same values typed differently, or the same permissions set in another order, are no change.
    expect(edited({ ips: ' 10.0.0.1 ,', permissions: { restricted: { embeddings: 'write', models: 'read' } } })).toEqual({});
    expect(edited({ rpm: '30' })).toEqual({ rate_limits: { max_requests_per_1_minute: 30, max_tokens_per_1_minute: null, max_requests_per_1_day: 100 } });
    expect(edited({ models: '', name: 'renamed' })).toEqual({ name: 'renamed', allowed_models: null });
  });
});

describe('usage data', () => {
  const bucket = (start: number, results: Partial<UsageResult>[]): Bucket<UsageResult> => ({
    object: 'bucket',
    start_time: start,
    end_time: start + 86_400,
    results: results as UsageResult[],
  });

  it('merges chat and embeddings buckets, marking each result with its kind, and sums them', () => {
    const merged = mergeKinds([
      { kind: 'completions', buckets: [bucket(0, [{ num_model_requests: 2, num_refused_requests: 1, input_tokens: 10, output_tokens: 4, cost_usd: 0.5 }]), bucket(86_400, [])] },
      { kind: 'embeddings', buckets: [bucket(86_400, [{ num_model_requests: 3, num_refused_requests: 0, input_tokens: 7, cost_usd: 0.25 }])] },
    ]);
    expect(merged.map((b) => [b.start_time, b.results.map((r) => r.kind)])).toEqual([
      [0, ['completions']],
      [86_400, ['embeddings']],
    ]);
    expect(usageTotals(merged)).toEqual({ requests: 5, refused: 1, embeddings: 3, inputTokens: 17, outputTokens: 4, cachedTokens: 0 });
  });

  it('counts requests of images and speech, which report no tokens', () => {
    const merged = mergeKinds([
      { kind: 'completions', buckets: [bucket(0, [{ num_model_requests: 1, input_tokens: 10, output_tokens: 4 }])] },
      { kind: 'images', buckets: [bucket(0, [{ num_model_requests: 2, images: 2 } as Partial<UsageResult>])] },
      { kind: 'audio_speeches', buckets: [bucket(0, [{ num_model_requests: 1, characters: 11 } as Partial<UsageResult>])] },
    ]);
    expect(usageTotals(merged)).toMatchObject({ requests: 4, inputTokens: 10, outputTokens: 4 });
  });

  it("reads costs by line item as costs by model, and sums them in nano-dollars as the server does", () => {
    const cost = (value: number, line_item: string | null): CostResult => ({ object: 'organization.costs.result', amount: { value, currency: 'usd' }, line_item, project_id: 'proj_1', api_key_id: null, quantity: null, quantity_unit: null });
    const day = (start: number, results: CostResult[]): Bucket<CostResult> => ({ object: 'bucket', start_time: start, end_time: start + 86_400, results });
    const rows = costRows([
      day(0, [cost(0.1, 'gpt-4o, input'), cost(0.2, 'gpt-4o, cached input'), cost(0.04, 'dall-e-3, output')]),
      day(86_400, [cost(0.11, 'tts-1, input'), cost(0.000001, 'a, b, output'), cost(0.5, null)]),
      day(172_800, [cost(0.03, 'claude-sonnet-4-5, web search')]),
    ]);
    expect(rows.flatMap((b) => b.results.map((r) => r.model))).toEqual(['gpt-4o', 'gpt-4o', 'dall-e-3', 'tts-1', 'a, b', null, 'claude-sonnet-4-5']);
    // 0.1 + 0.2 in floats is 0.30000000000000004.
    expect(costTotal(rows.slice(0, 1))).toBe(0.34);
    expect(costTotal(rows)).toBe(0.980001);
  });

  it('exports names beside ids, quoted, and defuses spreadsheet formulas', () => {
    const csv = usageCsv(
      [bucket(0, [{ kind: 'completions', project_id: 'proj_1', api_key_id: 'key_1', model: 'gpt-4o', num_model_requests: 1, input_tokens: 2, output_tokens: 3 }])],
      { project: () => 'Team, "A"', key: () => '=HYPERLINK("x")' },
    );
    const [head, line] = csv.trim().split('\r\n');
    expect(head).toBe(USAGE_CSV_HEADER.join(','));
    expect(line).toBe(`"1970-01-01T00:00:00.000Z","1970-01-02T00:00:00.000Z","completions","proj_1","Team, ""A""","key_1","'=HYPERLINK(""x"")","gpt-4o",1,0,2,3,0,`);
    // Every text quoted: a spreadsheet splitting on `;` keeps `k;=1+1;` one cell, no formula.
    const semi = usageCsv([bucket(0, [{ kind: 'completions', project_id: 'proj_1', api_key_id: 'key_1', model: 'gpt-4o', num_model_requests: 1 }])], { project: () => 'p', key: () => 'k;=1+1;' });
    expect(semi).toContain('"k;=1+1;"');
  });
});

describe('expiry and interval words', () => {
  const now = NOW_MS / 1000;
  it('says how soon a key expires', () => {
    expect(expiryLabel(now + 3 * 86_400 - 60, now)).toEqual({ text: 'Expires in 3 days', soon: true });
    expect(expiryLabel(now + 86_400 + 1, now)).toEqual({ text: 'Expires in 2 days', soon: true });
    expect(expiryLabel(now + 3600 * 5, now)).toEqual({ text: 'Expires in 5 h', soon: true });
    expect(expiryLabel(now - 1, now)).toEqual({ text: 'Expired', soon: true });
    expect(expiryLabel(now + 30 * 86_400, now).soon).toBe(false);
  });
  it('names intervals', () => {
    expect(['day', 'week', 'month', 'total', 'rolling_7d', undefined].map(intervalLabel)).toEqual(['per day', 'per week', 'per month', 'in total', 'per 7 days (rolling)', 'per month']);
  });
});

describe('UTC days of usage', () => {
  it('reads a date picked as its UTC day, and names a unix time by its UTC day, whatever the zone', () => {
    const day = Date.UTC(2026, 11, 7) / 1000;
    expect(fromUtcDateInput('2026-12-07')).toBe(day);
    // 23:59:59 UTC is still Dec 7; New York's evening of Dec 6 at 01:29 UTC is Dec 7 too.
    expect(toUtcDateInput(day + 86_399)).toBe('2026-12-07');
    expect(toUtcDateInput(day + 5340)).toBe('2026-12-07');
    expect(toUtcDateInput(day - 1)).toBe('2026-12-06');
    expect(Number.isNaN(fromUtcDateInput(''))).toBe(true);
    expect(Number.isNaN(fromUtcDateInput('2026-12'))).toBe(true);
    // A tick at a UTC midnight names the day; another names the hour.
    expect(formatUtcTick(day)).toMatch(/\b7\b/);
    expect(formatUtcTick(day + 6 * 3600)).toMatch(/\b0?6\b/);
  });
});

describe('audit entry details', () => {
  it('says which threshold of which budget was crossed, and what a change changed', async () => {
    const { summary, idsOf } = await import('../dashboard/src/pages/settings/audit-summary.js');
    const entry = (type: string, details: Record<string, unknown>, actor: Record<string, unknown> = { type: 'system' }) =>
      ({ id: 'audit_log-1', type, effective_at: 0, project: null, actor, ip_address: null, [type]: details }) as never;
    expect(
      summary(entry('budget.threshold_crossed', { scope: 'api_key', id: 'key_1', threshold_percent: 80, period: 'm2026-03', spent_usd: 8.25, limit_usd: 10 })),
    ).toBe("80 % of a key's spend limit of $10.00 (period m2026-03): $8.25 spent");
    const alert = { scope: 'project', id: 'proj_1', spend_alert_id: 'alert_1', threshold_percent: null, threshold_usd: 50, period: 'm2026-03', spent_usd: 50.5, limit_usd: null };
    expect(summary(entry('budget.threshold_crossed', alert))).toBe("Spend alert at $50.00 of the project's spend this month (m2026-03): $50.50 spent");
    expect(summary(entry('api_key.updated', { id: 'key_1', changes_requested: { name: 'x', spend_limit: null } }))).toBe('Changed: name, spend_limit');
    expect(summary(entry('login.failed', { email: 'a@b.c', error_code: 'invalid_credentials' }))).toBe('a@b.c · invalid_credentials');
    expect(idsOf(entry('api_key.created', { id: 'key_1', data: { owner: { type: 'user', id: 'user-9' } } }, { type: 'api_key', api_key: { id: 'key_admin', type: 'admin' } }))).toEqual([
      'key_1',
      'key_admin',
      'user-9',
    ]);
  });
});

describe('typed dollar amounts', () => {
  it('reads digits with at most two decimals after an optional $, in whole cents, as every amount field does', () => {
    expect(typedCents('')).toEqual({ ok: true, cents: null });
    expect(typedCents('  ')).toEqual({ ok: true, cents: null });
    expect(typedCents('25')).toEqual({ ok: true, cents: 2500 });
    expect(typedCents('$25')).toEqual({ ok: true, cents: 2500 });
    expect(typedCents(' $ 99.50 ')).toEqual({ ok: true, cents: 9950 });
    expect(typedCents('.5')).toEqual({ ok: true, cents: 50 });
    // Past what a number holds exactly: more than any amount taken (20 nines were sent as 1e22 cents).
    expect(typedCents('9'.repeat(20))).toEqual({ ok: false, problem: 'too_large' });
    expect(typedCents('7.')).toEqual({ ok: true, cents: 700 });
    expect(typedCents('0')).toEqual({ ok: true, cents: 0 });
    expect(typedCents('0.001')).toEqual({ ok: false, problem: 'decimals' });
    for (const text of ['$', '.', '0x19', '1e3', '-5', '+5', '25$', '1,000', 'ten', 'Infinity', '$$5']) expect(typedCents(text)).toEqual({ ok: false, problem: 'format' });
  });
});
