import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../src/core/pricing.js';
import type { UsageEvent } from '../src/core/usage-event.js';
import { toUsageLine } from '../src/core/usage-line.js';
import { UsageDeadLetters } from '../src/infra/usage-dead-letter.js';
import { UsageWal } from '../src/infra/usage-wal.js';
import { usageEvent } from './harness/usage-event.js';
import { UsageRecorder } from '../src/services/usage-recorder.js';
import type { Insertable } from 'kysely';
import SQLite from 'better-sqlite3';
import { openDatabase } from '../src/storage/database.js';
import type { DB } from '../src/storage/schema.js';

// The worker thread runs the built JavaScript (dist/, made by `npm install`): the test runner cannot load TypeScript
// into a worker. Under CI=true a missing build fails.
const built = fileURLToPath(new URL('../dist/storage/sqlite-usage-sink.js', import.meta.url));
const suite = existsSync(built) || process.env.CI === 'true' ? describe : describe.skip;

const event = (id: string, tokens: number): UsageEvent =>
  usageEvent({ id, model: 'gpt-4o', inputTokens: tokens, outputTokens: tokens, costNanoUsd: tokens * 12_500 });

suite('SQLite usage writer in a worker thread', () => {
  it('writes batches off the event loop, idempotently, with rollups', async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-worker-')) });
    try {
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES);
      expect(writer?.mode).toBe('worker');
      // A small young generation: a main thread's default was tens of MB of resident memory for short-lived batches.
      expect(writer?.worker?.resourceLimits?.maxYoungGenerationSizeMb).toBeLessThanOrEqual(8);
      // The worker's connection runs the checkpoints; the gateway's own runs none while it is up.
      const checkpointPages = () => database.sqlite?.pragma('wal_autocheckpoint', { simple: true });
      expect(checkpointPages()).toBe(0);
      const lines = (events: UsageEvent[]) => Buffer.from(events.map((e) => `${toUsageLine(e)}\n`).join(''));
      const first = lines([event('evt_1', 10), event('evt_2', 20)]);
      const size = first.byteLength;
      await writer?.write(first);
      // The worker got a copy: the caller's bytes stay whole (the recorder keeps them to retry a failed write).
      expect(first.byteLength).toBe(size);
      await writer?.write(lines([event('evt_2', 20), event('evt_3', 30)])); // evt_2 again: ignored
      await writer?.close();
      expect(checkpointPages()).toBe(1000);
      const rows = await database.db.selectFrom('usage_events').select('id').execute();
      expect(rows.map((r) => r.id).sort()).toEqual(['evt_1', 'evt_2', 'evt_3']);
      const rollup = await database.db.selectFrom('usage_rollups_1d').selectAll().execute();
      expect(rollup).toHaveLength(1);
      expect(Number(rollup[0].num_model_requests)).toBe(3);
      expect(Number(rollup[0].input_tokens)).toBe(60);
    } finally {
      await database.close();
    }
  });

  it("writes keys' last-used times on its own connection, never moving one backwards", async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-worker-')) });
    try {
      await database.db.insertInto('api_keys').values(apiKeyRow('key_a')).execute();
      await database.db.insertInto('api_keys').values(apiKeyRow('key_b')).execute();
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES);
      expect(writer?.mode).toBe('worker');
      await writer?.writeLastUsed([
        ['key_a', 2000],
        ['key_b', 1500],
      ]);
      await writer?.writeLastUsed([['key_a', 1000]]); // older: ignored
      await writer?.close();
      const rows = await database.db.selectFrom('api_keys').select(['id', 'last_used_at']).orderBy('id').execute();
      expect(rows.map((r) => [r.id, Number(r.last_used_at)])).toEqual([
        ['key_a', 2000],
        ['key_b', 1500],
      ]);
    } finally {
      await database.close();
    }
  });

  it("writes a key's new network on its own connection: the event loop runs on while another connection holds the write lock", async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-worker-')) });
    const blocker = new SQLite(database.sqlite?.name as string);
    try {
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES);
      expect(writer?.mode).toBe('worker');
      expect(await offTheEventLoop(blocker, () => writer?.rememberNetwork({ key_id: 'key_a', network: '10.0.0.0/24', first_seen: 100 }))).toBe(true);
      expect(await writer?.rememberNetwork({ key_id: 'key_a', network: '10.0.0.0/24', first_seen: 200 })).toBe(false); // known
      expect(await writer?.rememberNetwork({ key_id: 'key_a', network: '10.0.1.0/24', first_seen: 300 })).toBe(true);
      await writer?.close();
      const rows = await database.db.selectFrom('key_networks').select(['network', 'first_seen']).orderBy('network').execute();
      expect(rows.map((r) => [r.network, Number(r.first_seen)])).toEqual([
        ['10.0.0.0/24', 100],
        ['10.0.1.0/24', 300],
      ]);
    } finally {
      blocker.close();
      await database.close();
    }
  });
});

suite('SQLite usage worker and the retention', () => {
  it('deletes old events in its own thread, oldest first and as many as asked: the event loop runs on while another connection holds the write lock', async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-worker-')) });
    const blocker = new SQLite(database.sqlite?.name as string);
    try {
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES);
      expect(writer.mode).toBe('worker');
      const t0 = Date.UTC(2026, 0, 1);
      await writer.write(Buffer.from(Array.from({ length: 3000 }, (_, i) => `${toUsageLine(usageEvent({ id: `evt_${String(i).padStart(5, '0')}`, createdAtMs: t0 + i }))}\n`).join('')));
      // More than the main thread's cap in one transaction: the worker blocks no request while it deletes.
      expect(await offTheEventLoop(blocker, () => writer.deleteEventsBefore(t0 + 2500, 2000))).toBe(2000);
      expect(await writer.deleteEventsBefore(t0 + 2500, 2000)).toBe(500);
      expect(await writer.deleteEventsBefore(t0 + 2500, 2000)).toBe(0);
      await writer.close();
      const left = await database.db.selectFrom('usage_events').select('id').orderBy('id').execute();
      expect(left).toHaveLength(500);
      expect(left[0].id).toBe('evt_02500');
      const rolled = await database.db.selectFrom('usage_rollups_1d').select(({ fn }) => fn.sum<number>('num_requests').as('n')).executeTakeFirstOrThrow();
      expect(Number(rolled.n)).toBe(3000);
    } finally {
      blocker.close();
      await database.close();
    }
  });
});

suite('SQLite usage worker and events the database refuses', () => {
  it('passes the error code back, so the recorder sets the refused event aside and writes the rest off the event loop', async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-worker-'));
    const database = await openDatabase({ dataDir: dir });
    try {
      database.sqlite?.exec(`CREATE TRIGGER usage_poison BEFORE INSERT ON usage_events WHEN NEW.model = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned event refused'); END`);
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES);
      expect(writer?.mode).toBe('worker');
      const refused = await writer?.write(Buffer.from(`${toUsageLine(usageEvent({ id: 'evt_p', model: 'poison' }))}\n`)).catch((e) => e);
      expect(refused).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER', message: expect.stringContaining('poisoned') });
      const recorder = new UsageRecorder(writer, {
        flushIntervalMs: 60_000,
        maxInMemory: 10_000,
        spillFile: join(dir, 'spill.jsonl'),
        log: new UsageWal(join(dir, 'wal')),
        deadLetter: { file: new UsageDeadLetters(join(dir, 'dead.jsonl')), clock: () => 1 },
      });
      for (let i = 0; i < 100; i++) recorder.record(i === 42 ? usageEvent({ id: 'evt_042', model: 'poison' }) : event(`evt_${String(i).padStart(3, '0')}`, 10));
      await recorder.flush();
      expect(writer?.mode).toBe('worker');
      const rows = await database.db.selectFrom('usage_events').select('id').execute();
      expect(rows).toHaveLength(99);
      expect(rows.map((r) => r.id)).not.toContain('evt_042');
      const dead = readFileSync(join(dir, 'dead.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(dead).toMatchObject([{ id: 'evt_042', error_code: 'SQLITE_CONSTRAINT_TRIGGER', salvaged: false }]);
      await recorder.stop();
      await writer.close();
    } finally {
      await database.close();
    }
  });
});

suite('SQLite usage writer whose worker stops', () => {
  it('writes on the event loop until a new worker is started, then off it again', async () => {
    const mod = (await import(built)) as typeof import('../src/storage/sqlite-usage-sink.js');
    const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-worker-')) });
    const blocker = new SQLite(database.sqlite?.name as string);
    try {
      await database.db.insertInto('api_keys').values(apiKeyRow('key_a')).execute();
      const writer = mod.sqliteUsageSink(database, DEFAULT_PRICES, { restartDelayMs: 100 });
      expect(writer?.mode).toBe('worker');
      const crashed = writer?.worker;
      // Not through close(): as if the thread had crashed.
      const exited = new Promise((r) => crashed?.once('exit', r));
      await crashed?.terminate();
      await exited;
      expect(writer.mode).toBe('main-thread');
      await writer?.write(Buffer.from(`${toUsageLine(event('evt_9', 10))}\n`));
      await writer?.writeLastUsed([['key_a', 3000]]);
      expect(await writer?.rememberNetwork({ key_id: 'key_a', network: '10.0.0.0/24', first_seen: 1 })).toBe(true);
      expect(await writer?.rememberNetwork({ key_id: 'key_a', network: '10.0.0.0/24', first_seen: 2 })).toBe(false);
      expect((await database.db.selectFrom('usage_events').select('id').execute()).map((r) => r.id)).toEqual(['evt_9']);
      expect(Number((await database.db.selectFrom('api_keys').select('last_used_at').executeTakeFirstOrThrow()).last_used_at)).toBe(3000);
      expect(database.sqlite?.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      // A new thread takes over (polled: started 100 ms after the crash, allowed 20 s on a busy machine).
      for (let i = 0; i < 400 && writer?.worker === crashed; i++) await new Promise((r) => setTimeout(r, 50));
      expect(writer?.worker).not.toBe(crashed);
      expect(writer.mode).toBe('worker');
      expect(database.sqlite?.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      // Off the event loop again.
      await offTheEventLoop(blocker, () => writer?.write(Buffer.from(`${toUsageLine(event('evt_10', 10))}\n`)));
      expect((await database.db.selectFrom('usage_events').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(['evt_10', 'evt_9']);
      await writer?.close();
    } finally {
      blocker.close();
      await database.close();
    }
  });
});

/**
 * Runs `write` while `blocker` holds the database's write lock (as the worker's own usage transaction would, or another
 * process): a write on the event loop would wait for the lock there (busy timeout), and a timer with it; off the event
 * loop the timer fires while the write still waits. Then releases the lock and returns the write's result.
 */
async function offTheEventLoop<T>(blocker: SQLite.Database, write: () => Promise<T> | undefined): Promise<T | undefined> {
  blocker.exec('BEGIN IMMEDIATE');
  let settled = false;
  const pending = write()?.finally(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  expect(settled).toBe(false);
  blocker.exec('COMMIT');
  return pending;
}

/** The columns an api_keys row needs, for a key named `id`. */
function apiKeyRow(id: string): Insertable<DB['api_keys']> {
  return {
    id,
    kind: 'project',
    org_id: 'org-1',
    project_id: 'proj_1',
    name: id,
    redacted_value: 'sk-tg-…abcd',
    owner_type: null,
    owner_id: null,
    created_by_type: 'system',
    created_by_id: null,
    created_at: 1,
    last_used_at: null,
    expires_at: null,
    status: 'active',
    revoked_at: null,
    permissions: 'all',
    allowed_models: null,
    allowed_ips: null,
    exposed_at: null,
    exposed_url: null,
    rotated_at: null,
  };
}
