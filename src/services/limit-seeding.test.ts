import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import type { ProjectPolicy } from '../core/limit-plan.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';
import type { ServiceDeps } from './context.js';

// The first request of a key with an RPD after a start waits for one query of its stored usage; the requests that
// arrive meanwhile share it, and later ones decide on the store alone.

const HOUR = 3_600_000;
const now = Date.UTC(2026, 4, 4, 12, 30);

/** A database whose queries are noted (the table each reads) and answer, a little later, with `rows`. */
function fakeDatabase(rows: Array<{ bucket_start: number; n: number; model?: string }>) {
  const tables: string[] = [];
  const builder: object = new Proxy(
    {},
    {
      get: (_, prop) => {
        if (prop === 'then') return undefined; // not a promise itself
        if (prop === 'execute') return () => new Promise((r) => setTimeout(() => r(rows), 10));
        return () => builder;
      },
    },
  );
  const db = {
    selectFrom: (table: string) => {
      tables.push(table);
      return builder;
    },
  };
  return { tables, deps: { clock: () => now, database: { db } } as unknown as ServiceDeps };
}

function setup(rows: Array<{ bucket_start: number; n: number; model?: string }>, policy: ProjectPolicy = { rateLimits: [], spend: null }) {
  const { tables, deps } = fakeDatabase(rows);
  return { tables, guard: testGuard(deps, new MemoryLimitStore(), () => policy) };
}

const plan = planMetering({ method: 'POST', endpoint: '/chat/completions', body: null, form: null, model: 'gpt-4o-mini', bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null });
const thisHour = Math.floor(now / HOUR) * (HOUR / 1000);

describe('RPD seeded from stored usage', () => {
  it('asks once for a key however many of its requests arrive together, then decides without the database', async () => {
    // Two of the key's three were used this hour, before the start.
    const { tables, guard } = setup([{ bucket_start: thisHour, n: 2 }]);
    const record = keyRecord({ limits: { rate_limits: { max_requests_per_1_day: 3 } } });
    const input = { record, model: 'gpt-4o-mini', endpoint: '/chat/completions', body: null, plan, nowMs: now };
    const together = await Promise.allSettled(Array.from({ length: 5 }, () => guard.admit(input)));
    expect(together.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
    expect(tables).toEqual(['usage_rollups_1h']);
    // Decided at once from now on (no promise): refused, without a query.
    expect(() => guard.admit(input)).toThrow(expect.objectContaining({ code: 'rate_limit_exceeded' }));
    expect(() => guard.admit({ ...input, nowMs: now + 8 * HOUR })).not.toThrow();
    expect(tables).toEqual(['usage_rollups_1h']);
  });

  it("reads a project's RPD from the project rollups", async () => {
    const policy: ProjectPolicy = { rateLimits: [{ model: '*', max_requests_per_1_minute: null, max_tokens_per_1_minute: null, max_requests_per_1_day: 5 }], spend: null };
    const { tables, guard } = setup([{ bucket_start: thisHour, n: 5 }], policy);
    const input = { record: keyRecord(), model: 'gpt-4o-mini', endpoint: '/chat/completions', body: null, plan, nowMs: now };
    await expect(guard.admit(input)).rejects.toMatchObject({ code: 'rate_limit_exceeded', message: expect.stringContaining('project proj_1 on requests per day (RPD): Limit 5, Used 5') });
    expect(tables).toEqual(['usage_rollups_project_1h']);
  });

  it("counts a model's dated snapshots in its project RPD, and no other model that begins with its name", async () => {
    const policy: ProjectPolicy = { rateLimits: [{ model: 'gpt-4o', max_requests_per_1_minute: null, max_tokens_per_1_minute: null, max_requests_per_1_day: 9 }], spend: null };
    const rows = [
      { bucket_start: thisHour, model: 'gpt-4o', n: 2 },
      { bucket_start: thisHour, model: 'gpt-4o-2024-08-06', n: 3 },
      { bucket_start: thisHour - 3600, model: 'gpt-4o-2024-11-20', n: 1 },
      { bucket_start: thisHour, model: 'gpt-4o-mini', n: 40 },
      { bucket_start: thisHour, model: 'gpt-4o-audio-preview', n: 40 },
    ];
    const { guard } = setup(rows, policy);
    const snapshotPlan = planMetering({ method: 'POST', endpoint: '/chat/completions', body: null, form: null, model: 'gpt-4o-2024-08-06', bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null });
    const input = { record: keyRecord(), model: 'gpt-4o-2024-08-06', endpoint: '/chat/completions', body: null, plan: snapshotPlan, nowMs: now };
    // 6 used by the model and its snapshots (none of the 80 of other models), and this one: 2 of 9 left.
    const admitted = await guard.admit(input);
    expect(admitted.headers['x-ratelimit-remaining-requests']).toBe('2');
  });
});
