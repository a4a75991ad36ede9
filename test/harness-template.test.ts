import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/database.js';
import { migratedSqliteTemplate, startTestServer } from './harness/server.js';

// The harness starts SQLite servers on a copy of a file migrated once per process (test/harness/server.ts): the copy
// must be what migrating an empty file gives, and the servers must really start on it.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tollgate-template-test-'));
  dirs.push(d);
  return d;
};

/** Every table, index and trigger of a SQLite file as created, and the migrations it records as run. */
function schemaOf(file: string): { objects: unknown[]; migrations: string[]; rows: Record<string, number> } {
  const db = new SQLite(file, { readonly: true });
  try {
    const objects = db.prepare("select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name").all();
    const migrations = db
      .prepare('select name from kysely_migration order by name')
      .all()
      .map((r) => (r as { name: string }).name);
    const rows: Record<string, number> = {};
    for (const { name } of db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'").all() as Array<{ name: string }>) {
      rows[name] = (db.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n;
    }
    return { objects, migrations, rows };
  } finally {
    db.close();
  }
}

describe('the migrated SQLite template of the test harness', () => {
  it('holds exactly the schema, migrations and (empty) tables that migrating an empty file gives', async () => {
    const fresh = tempDir();
    const database = await openDatabase({ dataDir: fresh });
    await database.close();
    const copy = join(tempDir(), 'tollgate.db');
    writeFileSync(copy, await migratedSqliteTemplate());
    const expected = schemaOf(join(fresh, 'tollgate.db'));
    expect(expected.objects.length).toBeGreaterThan(10);
    expect(expected.migrations.length).toBeGreaterThan(5);
    expect(schemaOf(copy)).toEqual(expected);
  });

  it('is what a harness server on its own temp dir starts from (its migrations ran when the template was made)', async () => {
    const copy = join(tempDir(), 'tollgate.db');
    writeFileSync(copy, await migratedSqliteTemplate());
    const executedAt = (file: string) => {
      const db = new SQLite(file, { readonly: true });
      try {
        return db.prepare('select name, timestamp from kysely_migration order by name').all();
      } finally {
        db.close();
      }
    };
    const t = await startTestServer({ name: 'sqlite' });
    try {
      const db = t.server.runtime.database.sqlite as SQLite.Database;
      expect(db.prepare('select name, timestamp from kysely_migration order by name').all()).toEqual(executedAt(copy));
    } finally {
      await t.close();
    }
  });
});
