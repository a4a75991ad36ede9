import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageSink } from '../src/core/ports.js';
import type { UsageEvent } from '../src/core/usage-event.js';
import { UsageRetention } from '../src/services/usage-retention.js';
import { describeEachDatabase, freshSchema } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { usageEvent } from './harness/usage-event.js';

// TOLLGATE_USAGE_RETENTION_DAYS on both backends, with a pinned clock: raw usage events past the window are deleted
// in batches, the rollups stay, and the usage API answers hours, days and costs from them; minutes only within the
// window.

const ORG = '/v1/organization';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2026-03-10T12:00:30Z: the window of two days starts at 2026-03-08T12:00:00Z (a minute boundary). */
const NOW = Date.UTC(2026, 2, 10, 12, 0, 30);
const SINCE = Date.UTC(2026, 2, 8, 12, 0, 0);
const MAR7 = Date.UTC(2026, 2, 7) / 1000;

describeEachDatabase('usage retention', (backend) => {
  let t: TestServer;
  let now = NOW;
  let seq = 0;
  const ev = (at: number, o: Partial<UsageEvent> = {}): UsageEvent =>
    usageEvent({ id: `evt_ret_${String(++seq).padStart(4, '0')}`, createdAtMs: at, orgId: t.orgId, projectId: t.defaultProjectId, apiKeyId: 'key_r', inputTokens: 10, outputTokens: 5, costNanoUsd: 4_500, ...o });
  const record = async (events: UsageEvent[]) => {
    for (const e of events) t.server.gateway.usage.record(e);
    await t.server.gateway.usage.flush();
  };
  const stored = async () =>
    (await t.server.runtime.database.db.selectFrom('usage_events').select('id').where('api_key_id', '=', 'key_r').orderBy('id').execute()).map((r) => r.id);
  const get = async (path: string) => {
    const r = await t.api('GET', path);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  /** Retention over the server's own sink. */
  const retention = (sink: Pick<UsageSink, 'deleteEventsBefore'> = t.server.runtime.usageSink, batchSize = 1000) =>
    new UsageRetention(sink, { days: 2, clock: () => now, batchSize, pauseMs: 0 });

  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => now, env: { TOLLGATE_USAGE_RETENTION_DAYS: '2' } });
    // Only the tests' own passes run on this one.
    await t.server.retention.stop();
  });
  afterAll(async () => t?.close());

  it("the server's own pass, soon after it starts, deletes what is past the window (an upgrade's backlog)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-retention-'));
    const schema = freshSchema();
    const before = await startTestServer(backend, { clock: () => now, dataDir, schema, keepSchema: true, env: { TOLLGATE_USAGE_RETENTION_DAYS: 'forever' } });
    const events = [NOW - 3 * DAY, NOW - HOUR].map((at, i) => usageEvent({ id: `evt_backlog_${i}`, createdAtMs: at, orgId: before.orgId }));
    for (const e of events) before.server.gateway.usage.record(e);
    await before.server.gateway.usage.flush();
    await before.server.close();
    const after = await startTestServer(backend, { clock: () => now, dataDir, schema, env: { TOLLGATE_USAGE_RETENTION_DAYS: '2' } });
    try {
      const ids = async () => (await after.server.runtime.database.db.selectFrom('usage_events').select('id').where('id', 'like', 'evt_backlog_%').orderBy('id').execute()).map((r) => r.id);
      for (let i = 0; i < 200 && (await ids()).length > 1; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await ids()).toEqual(['evt_backlog_1']);
      expect(after.server.retention.stats.deleted).toBe(1);
    } finally {
      await after.close();
    }
  });

  it('deletes raw events before the window, keeps the rollups, and answers hours, days and costs from them', async () => {
    const old = Array.from({ length: 5 }, (_, i) => ev(MAR7 * 1000 + 10 * HOUR + i * MIN));
    const edge = [ev(SINCE - 1), ev(SINCE)];
    const recent = Array.from({ length: 3 }, (_, i) => ev(NOW - HOUR + i * MIN, { model: 'gpt-4o' }));
    await record([...old, ...edge, ...recent]);
    const days = `start_time=${MAR7}&end_time=${MAR7 + 4 * 86_400}`;
    const usageBefore = await get(`${ORG}/usage/completions?${days}&group_by=model`);
    const costsBefore = await get(`${ORG}/costs?${days}&group_by=line_item`);
    const hourBefore = await get(`${ORG}/usage/completions?start_time=${MAR7 + 10 * 3600}&end_time=${MAR7 + 11 * 3600}&bucket_width=1h`);
    expect(hourBefore.data[0].results[0]).toMatchObject({ num_model_requests: 5, input_tokens: 50 });

    expect(await retention().runOnce()).toBe(6);
    // The event at the window's first instant stays; the one a millisecond before it is gone.
    expect(await stored()).toEqual([edge[1], ...recent].map((e) => e.id));
    expect(await get(`${ORG}/usage/completions?${days}&group_by=model`)).toEqual(usageBefore);
    expect(await get(`${ORG}/costs?${days}&group_by=line_item`)).toEqual(costsBefore);
    expect(await get(`${ORG}/usage/completions?start_time=${MAR7 + 10 * 3600}&end_time=${MAR7 + 11 * 3600}&bucket_width=1h`)).toEqual(hourBefore);

    // Minute buckets: from the window's start on, answered from the raw events; before it, a 400 that says why.
    const minutes = await get(`${ORG}/usage/completions?start_time=${SINCE / 1000}&end_time=${SINCE / 1000 + 120}&bucket_width=1m`);
    expect(minutes.data.map((b: { results: unknown[] }) => b.results.length)).toEqual([1, 0]);
    for (const start of [SINCE / 1000 - 60, SINCE / 1000 - 1, MAR7]) {
      const refused = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&end_time=${SINCE / 1000 + 60}&bucket_width=1m`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value', param: 'start_time' });
      expect(refused.body.error.message).toContain(`1m buckets are answered from ${SINCE / 1000} on`);
      expect(refused.body.error.message).toContain('TOLLGATE_USAGE_RETENTION_DAYS');
    }
    // Hours and days before the window are answered (rollups), whatever the kind.
    expect((await t.api('GET', `${ORG}/usage/embeddings?start_time=${MAR7}&bucket_width=1h&limit=2`)).status).toBe(200);

    // Two days on, the rest is past the window too; the rollups still answer for all of it.
    now += 2 * DAY;
    expect(await retention().runOnce()).toBe(4);
    expect(await stored()).toEqual([]);
    expect(await get(`${ORG}/usage/completions?${days}&group_by=model`)).toEqual(usageBefore);
    expect(await retention().runOnce()).toBe(0);
    now = NOW;
  });

  it('deletes in batches of its size, one transaction each, until a batch finds nothing', async () => {
    await record(Array.from({ length: 5 }, (_, i) => ev(NOW - 3 * DAY + i)));
    const calls: Array<[number, number]> = [];
    const sink = t.server.runtime.usageSink;
    const counting = {
      deleteEventsBefore(before: number, max: number) {
        calls.push([before, max]);
        return sink.deleteEventsBefore(before, max);
      },
    };
    expect(await retention(counting, 2).runOnce()).toBe(5);
    expect(calls).toEqual([
      [SINCE, 2],
      [SINCE, 2],
      [SINCE, 2],
      [SINCE, 2],
    ]);
    expect(await stored()).toEqual([]);
  });

  it('two instances deleting at once (several servers on one database) delete each event once, without error', async () => {
    await record(Array.from({ length: 40 }, (_, i) => ev(NOW - 3 * DAY + i)));
    const results = await Promise.all([retention(undefined, 3).runOnce(), retention(undefined, 3).runOnce()]);
    expect(results[0] + results[1]).toBe(40);
    expect(await stored()).toEqual([]);
  });
});

describeEachDatabase('usage retention set to forever', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => NOW, env: { TOLLGATE_USAGE_RETENTION_DAYS: 'forever' } });
  });
  afterAll(async () => t?.close());

  it('keeps raw events and answers minutes of any age', async () => {
    const old = usageEvent({ id: 'evt_forever', createdAtMs: NOW - 400 * DAY, orgId: t.orgId, projectId: t.defaultProjectId, apiKeyId: 'key_f', inputTokens: 3 });
    t.server.gateway.usage.record(old);
    await t.server.gateway.usage.flush();
    expect(await t.server.retention.runOnce()).toBe(0);
    expect(await new UsageRetention(t.server.runtime.usageSink, { days: null, clock: () => NOW }).runOnce()).toBe(0);
    const start = Math.floor(old.createdAtMs / MIN) * 60;
    const minutes = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&end_time=${start + 60}&bucket_width=1m`);
    expect(minutes.status).toBe(200);
    expect(minutes.body.data[0].results[0]).toMatchObject({ input_tokens: 3 });
  });
});

describe('UsageRetention', () => {
  it('stops a pass under way after its current batch', async () => {
    let calls = 0;
    let stop: () => Promise<void> = async () => {};
    const r = new UsageRetention(
      {
        async deleteEventsBefore() {
          calls++;
          if (calls === 2) void stop();
          return 10;
        },
      },
      { days: 1, clock: () => NOW, batchSize: 10, pauseMs: 0 },
    );
    stop = () => r.stop();
    expect(await r.runOnce()).toBe(20);
    expect(calls).toBe(2);
  });
});
