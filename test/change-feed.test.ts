import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeyChangeListener } from '../src/core/ports.js';
import { ChangeFeed } from '../src/services/change-feed.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { databaseUrlFor, describeEachDatabase, freshSchema } from './harness/backends.js';

// The key_changes feed must deliver every committed change. On PostgreSQL a seq is taken at insert and seen at
// commit, so two writers' rows can commit out of seq order; a poller that only asked for `seq > last` skipped the
// lower one forever, and with it a revocation or an exposure that never reached this instance's key cache (found in
// review: a leaked key kept working on another instance).

describeEachDatabase('the key change feed', (backend) => {
  const schema = freshSchema();
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ url: databaseUrlFor(backend, schema), dataDir: mkdtempSync(join(tmpdir(), 'tollgate-feed-')), schema });
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    if (backend.name !== 'postgres') return;
    const c = new pg.Client({ connectionString: backend.url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });

  const listen = () => {
    const heard: string[] = [];
    let cleared = 0;
    const listener: KeyChangeListener = {
      keyChanged: (k) => heard.push(k),
      projectChanged: (p) => heard.push(p),
      everythingChanged: () => cleared++,
    };
    return { heard, listener, cleared: () => cleared };
  };
  const feedFor = (listener: KeyChangeListener, clock: () => number = () => 0) => {
    const errors: unknown[] = [];
    const feed = new ChangeFeed(database, listener, { intervalMs: 1_000_000, clock, onError: (e) => errors.push(e) });
    return { feed, errors };
  };
  const topSeq = async () => Number((await database.db.selectFrom('key_changes').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0);
  /** A row at a chosen seq (as if its transaction had taken it); PostgreSQL's sequence is moved past it for later inserts. */
  const insertAt = async (seq: number, keyId: string) => {
    await database.db.insertInto('key_changes').values({ seq, key_id: keyId, changed_at: 1 }).execute();
    if (backend.name === 'postgres') await sql`SELECT setval(pg_get_serial_sequence('key_changes', 'seq'), (SELECT max(seq) FROM key_changes))`.execute(database.db);
  };

  it('delivers a change whose seq a later one skipped, once its row appears, and only once', async () => {
    const { heard, listener } = listen();
    const { feed, errors } = feedFor(listener);
    await feed.start();
    feed.stop();
    const top = await topSeq();
    await insertAt(top + 2, 'key_LATER');
    expect(await feed.poll()).toBe(1);
    await insertAt(top + 1, 'key_EARLIER'); // its transaction committed after top + 2 was polled
    expect(await feed.poll()).toBe(1);
    expect(await feed.poll()).toBe(0);
    expect(heard).toEqual(['key_LATER', 'key_EARLIER']);
    expect(errors).toEqual([]);
  });

  it('past the bound of awaited seqs, forgets everything cached rather than risk a missed change', async () => {
    const { heard, listener, cleared } = listen();
    const { feed, errors } = feedFor(listener);
    await feed.start();
    feed.stop();
    const top = await topSeq();
    await insertAt(top + 5000, 'key_FAR');
    await feed.poll();
    expect(heard).toEqual(['key_FAR']);
    expect(cleared()).toBe(1);
    // The newest gaps are still awaited (a bounded IN list every backend takes).
    await insertAt(top + 4999, 'key_NEAR');
    await feed.poll();
    expect(heard).toEqual(['key_FAR', 'key_NEAR']);
    expect(cleared()).toBe(1);
    expect(errors).toEqual([]);
  });

  /** A transaction that has inserted a change of `keyId` (its seq taken) and stays open until `commit()`. */
  async function heldOpen(keyId: string): Promise<{ commit(): Promise<void> }> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    const done = database.db.transaction().execute(async (trx) => {
      await trx.insertInto('key_changes').values({ key_id: keyId, changed_at: 1 }).execute();
      inserted();
      await gate;
    });
    await insertedP;
    return {
      commit: async () => {
        release();
        await done;
      },
    };
  }

  // Two real transactions committing out of seq order (the reviewer's repro): PostgreSQL only, as SQLite has one writer.
  it.runIf(backend.name === 'postgres')('delivers a change whose transaction commits after a later seq was polled', async () => {
    const { heard, listener } = listen();
    let now = 0;
    const { feed, errors } = feedFor(listener, () => now);
    await feed.start();
    feed.stop();
    // T1 (reportExposed on instance A): its key_changes row has seq N, and it is still writing its audit row.
    const t1 = await heldOpen('key_EXPOSED');
    // T2 (a key created elsewhere) takes seq N+1 and commits first.
    await database.db.transaction().execute(async (trx) => {
      await trx.insertInto('key_changes').values({ key_id: 'key_OTHER', changed_at: 1 }).execute();
    });
    await feed.poll(); // instance B polls now: sees N+1 only
    now += 1000;
    await t1.commit();
    await feed.poll();
    await feed.poll();
    expect(heard).toEqual(['key_OTHER', 'key_EXPOSED']);
    expect(errors).toEqual([]);
  }, 60_000);

  it.runIf(backend.name === 'postgres')('delivers a change whose transaction was open when the feed started, behind a later committed seq', async () => {
    const { heard, listener } = listen();
    const { feed, errors } = feedFor(listener);
    const open = await heldOpen('key_REVOKED');
    await database.db.insertInto('key_changes').values({ key_id: 'key_BEFORE_START', changed_at: 1 }).execute();
    await feed.start(); // the newest seq committed is above the open transaction's
    feed.stop();
    await open.commit();
    await feed.poll();
    expect(heard).toEqual(['key_REVOKED']);
    expect(errors).toEqual([]);
  }, 60_000);
});
