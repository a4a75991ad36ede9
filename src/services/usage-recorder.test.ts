import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usageEvent } from '../../test/harness/usage-event.js';
import type { UsageSink } from '../core/ports.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { UsageDeadLetters } from '../infra/usage-dead-letter.js';
import { UsageWal } from '../infra/usage-wal.js';
import { type Database, openDatabase } from '../storage/database.js';
import { sqliteUsageSink } from '../storage/sqlite-usage-sink.js';
import { UsageRecorder, type UsageRecorderOptions } from './usage-recorder.js';

type Writer = Pick<UsageSink, 'write' | 'maxBatch'>;

const open: Database[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

/**
 * A recorder on a fresh SQLite database, writing through the main-thread SQLite sink (50 events a batch), or through
 * what `writer` makes of it.
 */
async function setup(opts: Partial<UsageRecorderOptions> = {}, writer?: (sink: Writer, database: Database) => Writer) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-recorder-'));
  const database = await openDatabase({ dataDir: dir });
  open.push(database);
  const sqlite: Writer = { ...sqliteUsageSink(database, DEFAULT_PRICES, { worker: false }), maxBatch: 50 };
  const sink = writer ? writer(sqlite, database) : sqlite;
  const recorder = new UsageRecorder(sink, {
    flushIntervalMs: 60_000,
    maxInMemory: 10_000,
    spillFile: join(dir, 'spill.jsonl'),
    log: new UsageWal(join(dir, 'wal')),
    ...opts,
  });
  const stored = async () => (await database.db.selectFrom('usage_events').select('id').orderBy('id').execute()).map((r) => r.id);
  return { dir, database, recorder, stored };
}

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `evt_${String(from + i).padStart(5, '0')}`);

describe('UsageRecorder', () => {
  it('writes every recorded event, a group larger than a batch whole (groups are never split)', async () => {
    const writes: number[] = [];
    const count = (lines: Uint8Array) => Buffer.from(lines).toString('utf8').split('\n').filter(Boolean).length;
    const { recorder, stored } = await setup({}, (sink) => ({
      maxBatch: sink.maxBatch,
      write(lines) {
        writes.push(count(lines));
        return sink.write(lines);
      },
    }));
    // Recorded in one event-loop turn: one group of 120 lines; then two groups of 30, batches of 50.
    for (const id of ids(120)) recorder.record(usageEvent({ id }));
    for (const from of [120, 150]) {
      await new Promise((r) => setTimeout(r, 20));
      for (const id of ids(30, from)) recorder.record(usageEvent({ id }));
    }
    expect(recorder.pending).toBe(180);
    await recorder.flush();
    expect(recorder.pending).toBe(0);
    expect(recorder.stats.written).toBe(180);
    expect(await stored()).toEqual(ids(180));
    expect(writes).toEqual([120, 30, 30]);
  });

  it('a flush writes the groups queued when it began in one write; groups closed meanwhile wait for the next flush', async () => {
    let release: () => void = () => {};
    let gate = new Promise<void>((r) => (release = r));
    let entered: () => void = () => {};
    const writing = new Promise<void>((r) => (entered = r));
    const writes: string[][] = [];
    const { recorder, stored } = await setup({ groupMs: 2 }, (sink) => ({
      maxBatch: 500,
      async write(lines) {
        entered();
        await gate;
        writes.push(
          Buffer.from(lines)
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line)[0] as string),
        );
        return sink.write(lines);
      },
    }));
    for (const id of ids(3)) recorder.record(usageEvent({ id }));
    const first = recorder.flush();
    // Once the first write is under way (what it writes is decided: on a busy machine sealing the log can take longer
    // than the groups below), two more groups close while it waits (2 ms groups), as they do under load.
    await writing;
    for (const from of [3, 6]) {
      await new Promise((r) => setTimeout(r, 15));
      for (const id of ids(3, from)) recorder.record(usageEvent({ id }));
    }
    await new Promise((r) => setTimeout(r, 15));
    expect(recorder.pending).toBe(9);
    release();
    await first;
    // One transaction per flush: the write under way did not chase the groups closed while it ran.
    expect(writes).toEqual([ids(3)]);
    expect(recorder.pending).toBe(6);
    gate = Promise.resolve();
    await recorder.flush();
    expect(writes).toEqual([ids(3), ids(6, 3)]);
    expect(await stored()).toEqual(ids(9));
  });

  it('stop writes the events recorded while its flush was writing, too', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let entered: () => void = () => {};
    const writing = new Promise<void>((r) => (entered = r));
    const { recorder, stored } = await setup({ groupMs: 2 }, (sink) => ({
      maxBatch: 500,
      async write(lines) {
        entered();
        await gate;
        return sink.write(lines);
      },
    }));
    for (const id of ids(2)) recorder.record(usageEvent({ id }));
    const stopped = recorder.stop();
    // Recorded once stop's flush is writing (what that write holds is decided).
    await writing;
    for (const id of ids(2, 2)) recorder.record(usageEvent({ id })); // a request that finished as the server drained
    await new Promise((r) => setTimeout(r, 10));
    release();
    await stopped;
    expect(recorder.pending).toBe(0);
    expect(await stored()).toEqual(ids(4));
  });

  it('a flush called while another is writing also writes the events recorded before the call', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const written: string[] = [];
    const { recorder } = await setup({}, () => ({
      maxBatch: 500,
      async write(lines) {
        await gate;
        for (const line of Buffer.from(lines).toString('utf8').split('\n').filter(Boolean)) written.push(JSON.parse(line)[0] as string);
      },
    }));
    recorder.record(usageEvent({ id: 'evt_first' }));
    const underWay = recorder.flush(); // as the timer's flush: its group holds only the first event
    await new Promise((r) => setTimeout(r, 20));
    recorder.record(usageEvent({ id: 'evt_second' }));
    const mine = recorder.flush();
    release();
    await underWay;
    await mine;
    expect(written).toEqual(['evt_first', 'evt_second']);
  });

  it('keeps a batch the writer refused and writes it once with the next flush', async () => {
    let fail = true;
    const seen: string[] = [];
    const { recorder, stored } = await setup({}, (sink) => ({
      maxBatch: 500,
      async write(lines) {
        if (fail) throw new Error('database is locked');
        seen.push(Buffer.from(lines).toString('utf8'));
        await sink.write(lines);
      },
    }));
    for (const id of ids(3)) recorder.record(usageEvent({ id }));
    await new Promise((r) => setTimeout(r, 20)); // the group closes on its own timer
    for (const id of ids(2, 3)) recorder.record(usageEvent({ id }));
    await expect(recorder.flush()).rejects.toThrow(/locked/);
    expect(recorder.pending).toBe(5);
    expect(recorder.stats).toMatchObject({ written: 0, failedFlushes: 1 });
    fail = false;
    await recorder.flush();
    expect(recorder.pending).toBe(0);
    expect(recorder.stats.written).toBe(5);
    expect(await stored()).toEqual(ids(5));
    // Two groups in one write, whole lines each ending in a newline.
    expect(seen).toHaveLength(1);
    expect(seen[0].endsWith('\n')).toBe(true);
    expect(seen[0].split('\n').filter(Boolean)).toHaveLength(5);
  });

  it('spills past maxInMemory and replays the spill once the database answers', async () => {
    const { dir, recorder, stored } = await setup({ maxInMemory: 10 });
    for (let g = 0; g < 4; g++) {
      for (const id of ids(5, g * 5)) recorder.record(usageEvent({ id }));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(recorder.stats.spilled).toBe(10);
    expect(existsSync(join(dir, 'spill.jsonl'))).toBe(true);
    await recorder.flush();
    expect(recorder.stats.replayed).toBe(10);
    expect(await stored()).toEqual(ids(20));
  });

  it('drops only an event it cannot write, reports it, and writes the rest of its group', async () => {
    const errors: unknown[] = [];
    const { recorder, stored } = await setup({ onError: (err) => errors.push(err) });
    recorder.record(usageEvent({ id: 'evt_00000' }));
    recorder.record(usageEvent({ id: 'evt_bad', costNanoUsd: 1n as unknown as number }));
    recorder.record(usageEvent({ id: 'evt_00001' }));
    await recorder.flush();
    expect(await stored()).toEqual(ids(2));
    expect(errors).toHaveLength(1);
    expect(recorder.pending).toBe(0);
    await recorder.stop();
  });

  it('gathers events for groupMs before it logs them as one group', async () => {
    const { dir, recorder, database, stored } = await setup({ groupMs: 60_000 });
    for (const id of ids(3)) recorder.record(usageEvent({ id }));
    await new Promise((r) => setTimeout(r, 50));
    // Nothing logged yet: a recorder started on the same dir now recovers nothing.
    const early = new UsageRecorder(sqliteUsageSink(database, DEFAULT_PRICES, { worker: false }), { flushIntervalMs: 60_000, maxInMemory: 100, spillFile: join(dir, 'other-spill.jsonl'), log: new UsageWal(join(dir, 'wal')) });
    await early.writeRecovered();
    expect(early.stats.recovered).toBe(0);
    await early.stop();
    // A flush closes the open group at once.
    await recorder.flush();
    expect(await stored()).toEqual(ids(3));
    await recorder.stop();
  });

  it('logs each group before the flush and releases the log once written', async () => {
    const { dir, recorder, database } = await setup();
    for (const id of ids(4)) recorder.record(usageEvent({ id }));
    const wal = join(dir, 'wal');
    // The group is logged asynchronously once its 5 ms are up: wait for the log to hold it (a fixed sleep was flaky
    // on a loaded machine).
    const logged = () => (existsSync(wal) ? readdirSync(wal) : []).reduce((n, f) => n + readFileSync(join(wal, f), 'utf8').split('\n').filter(Boolean).length, 0);
    for (const deadline = Date.now() + 5000; Date.now() < deadline && logged() < 4; ) await new Promise((r) => setTimeout(r, 10));
    // A crash now: a new recorder on the same dir recovers the logged events (read from the log as it writes them).
    const again = new UsageRecorder(sqliteUsageSink(database, DEFAULT_PRICES, { worker: false }), { flushIntervalMs: 60_000, maxInMemory: 100, spillFile: join(dir, 'spill.jsonl'), log: new UsageWal(wal) });
    await again.writeRecovered();
    expect(again.stats.recovered).toBe(4);
    await recorder.flush();
    await again.stop();
    await recorder.stop();
    expect(readdirSync(wal)).toEqual([]);
  });

  describe('events the database refuses for their data', () => {
    const dataError = () => Object.assign(new Error('poisoned event refused'), { code: 'SQLITE_CONSTRAINT_TRIGGER' });

    /** A writer that refuses any batch holding a poisoned event (as a database does: the whole transaction), and fails
     * every write while `down` (as a lost connection does). */
    function poisonableWriter(store: Set<string>) {
      const w = {
        maxBatch: 500,
        down: false,
        writes: 0,
        async write(lines: Uint8Array) {
          w.writes++;
          if (w.down) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
          const batch = Buffer.from(lines).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown[]);
          if (batch.some((row) => row[5] === 'poison')) throw dataError();
          for (const row of batch) store.add(row[0] as string);
        },
      };
      return w;
    }

    const deadLetterOf = (dir: string) => ({ file: new UsageDeadLetters(join(dir, 'dead.jsonl')), clock: () => 1_700_000_000_000 });
    const filed = (dir: string) =>
      existsSync(join(dir, 'dead.jsonl'))
        ? readFileSync(join(dir, 'dead.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
        : [];

    it('splits the batch to find them, files each with its error, and writes every other event', async () => {
      const store = new Set<string>();
      const writer = poisonableWriter(store);
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-recorder-'));
      const set: string[] = [];
      const { recorder } = await setup({ deadLetter: { ...deadLetterOf(dir), onSetAside: (e) => set.push(e.id ?? '') } }, () => writer);
      const all = ids(1000);
      const bad = new Set(['evt_00017', 'evt_00600']);
      for (const id of all) recorder.record(usageEvent({ id, model: bad.has(id) ? 'poison' : 'gpt-4o' }));
      await recorder.flush();
      expect([...store].sort()).toEqual(all.filter((id) => !bad.has(id)));
      expect(set.sort()).toEqual([...bad]);
      const dead = filed(dir);
      expect(dead.map((d) => d.id).sort()).toEqual([...bad]);
      expect(dead[0]).toMatchObject({ dead_at_ms: 1_700_000_000_000, error: 'poisoned event refused', error_code: 'SQLITE_CONSTRAINT_TRIGGER', salvaged: false });
      expect(JSON.parse(dead[0].line)[0]).toBe(dead[0].id);
      expect(recorder.stats).toMatchObject({ written: 998, deadLettered: 2, salvaged: 0 });
      expect(recorder.pending).toBe(0);
      // Two bad events among 1,000: about 2·2·log2(1000) writes, not 1,000.
      expect(writer.writes).toBeLessThanOrEqual(1 + 4 * Math.ceil(Math.log2(1000)));
      await recorder.stop();
    });

    it('retries, and files nothing, when the failure is not the data’s', async () => {
      const store = new Set<string>();
      const writer = poisonableWriter(store);
      writer.down = true;
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-recorder-'));
      const { recorder } = await setup({ deadLetter: deadLetterOf(dir) }, () => writer);
      for (const id of ids(10)) recorder.record(usageEvent({ id }));
      await expect(recorder.flush()).rejects.toThrow(/terminated/);
      await expect(recorder.flush()).rejects.toThrow(/terminated/);
      expect(recorder.pending).toBe(10);
      expect(filed(dir)).toEqual([]);
      writer.down = false;
      await recorder.flush();
      expect(store.size).toBe(10);
      expect(recorder.stats.deadLettered).toBe(0);
    });

    it('a connection lost in the middle of the search keeps the batch queued; the next flush finishes it and files each event once', async () => {
      const store = new Set<string>();
      const writer = poisonableWriter(store);
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-recorder-'));
      const { recorder } = await setup({ deadLetter: deadLetterOf(dir) }, () => writer);
      for (const id of ids(8)) recorder.record(usageEvent({ id, model: id === 'evt_00001' || id === 'evt_00006' ? 'poison' : 'gpt-4o' }));
      // The connection drops once the first bad event is filed, before the second is found.
      const write = writer.write;
      writer.write = async (lines) => {
        if (filed(dir).length === 1) writer.down = true;
        return write(lines);
      };
      await expect(recorder.flush()).rejects.toThrow(/terminated/);
      expect(recorder.pending).toBe(8);
      writer.write = write;
      writer.down = false;
      await recorder.flush();
      expect(recorder.pending).toBe(0);
      expect([...store].sort()).toEqual(ids(8).filter((id) => id !== 'evt_00001' && id !== 'evt_00006'));
      expect(filed(dir).map((d) => d.id)).toEqual(['evt_00001', 'evt_00006']);
    });

    it('without a dead-letter file, a refused batch is kept and retried as before', async () => {
      const store = new Set<string>();
      const writer = poisonableWriter(store);
      const { recorder } = await setup({}, () => writer);
      recorder.record(usageEvent({ id: 'evt_a', model: 'poison' }));
      await expect(recorder.flush()).rejects.toThrow(/poisoned/);
      expect(recorder.pending).toBe(1);
    });
  });
});
