import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase, withStatementCache } from './database.js';
import { precompiled } from './precompiled.js';

let database: Database | null = null;
afterEach(async () => {
  await database?.close();
  database = null;
});

async function withNetworks(): Promise<Database> {
  database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-precompiled-')) });
  await database.db
    .insertInto('key_networks')
    .values([
      { key_id: 'key_a', network: '10.0.0.0/24', first_seen: 1 },
      { key_id: 'key_a', network: '10.0.1.0/24', first_seen: 2 },
      { key_id: 'key_b', network: '10.0.2.0/24', first_seen: 3 },
    ])
    .execute();
  return database;
}

describe('precompiled queries', () => {
  it('run with new values each call, placed where the builder put each placeholder', async () => {
    const { db } = await withNetworks();
    // The builder names the second placeholder first: values still go where their placeholders went.
    const since = precompiled<{ network: string }, [string, number]>(db, 2, (keyId, after) =>
      db.selectFrom('key_networks').select('network').where('first_seen', '>', after).where('key_id', '=', keyId).orderBy('network'),
    );
    expect(await since('key_a', 0)).toEqual([{ network: '10.0.0.0/24' }, { network: '10.0.1.0/24' }]);
    expect(await since('key_a', 1)).toEqual([{ network: '10.0.1.0/24' }]);
    expect(await since('key_b', 0)).toEqual([{ network: '10.0.2.0/24' }]);
  });

  it('refuses a builder that leaves a placeholder out or uses one twice', async () => {
    const { db } = await withNetworks();
    const unused = precompiled<{ network: string }, [string, string]>(db, 2, (keyId) => db.selectFrom('key_networks').select('network').where('key_id', '=', keyId));
    await expect(unused('key_a', 'x')).rejects.toThrow(/placeholders/);
    const twice = precompiled<{ network: string }, [string]>(db, 1, (keyId) =>
      db.selectFrom('key_networks').select('network').where('key_id', '=', keyId).where('network', '=', keyId),
    );
    await expect(twice('key_a')).rejects.toThrow(/placeholders/);
  });
});

describe('SQLite statement cache', () => {
  it('prepares each SQL text once, and never hands out a statement that is still iterating', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-statements-')), 'x.db');
    const sqlite = new SQLite(file);
    sqlite.exec('create table t (n integer)');
    sqlite.exec('insert into t values (1), (2), (3)');
    const prepared: string[] = [];
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((text: string) => {
      prepared.push(text);
      return prepare(text);
    }) as typeof sqlite.prepare;
    const db = new Kysely<{ t: { n: number } }>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    try {
      const all = () => db.selectFrom('t').select('n').orderBy('n').execute();
      expect(await all()).toHaveLength(3);
      expect(await all()).toHaveLength(3);
      expect(prepared).toHaveLength(1);
      // A statement still being iterated is not handed out again (Kysely holds its one connection while it streams,
      // so this is a safeguard: checked on the cache itself).
      const cache = withStatementCache(sqlite);
      const text = 'select n from t order by n';
      const first = cache.prepare(text);
      const rows = first.iterate([]);
      expect(rows.next().value).toEqual({ n: 1 });
      const second = cache.prepare(text);
      expect(second).not.toBe(first);
      expect(second.all([])).toHaveLength(3);
      expect([...rows]).toEqual([{ n: 2 }, { n: 3 }]);
      expect(cache.prepare(text)).toBe(first);
    } finally {
      await db.destroy();
    }
  });
});
