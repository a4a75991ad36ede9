import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import pg from 'pg';
import { SchemaScopedPostgresDialect } from '../../src/storage/database.js';
import type { Backend } from './backends.js';

// An empty database of either backend, with no migration run, for the suites that migrate it step by step (a database
// written by an older version, then upgraded): a SQLite file of its own, or a fresh PostgreSQL schema.

/** Opens an empty database: a new SQLite file, or `schema` created on the PostgreSQL backend. */
export async function openBareDatabase(backend: Backend, schema: string): Promise<Kysely<unknown>> {
  if (backend.name === 'sqlite') {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-bare-')), 'tollgate.db');
    return new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
  }
  const admin = new pg.Client({ connectionString: backend.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: backend.url, max: 2, options: `-c search_path=${schema}` });
  return new Kysely<unknown>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
}

/** Closes a database openBareDatabase opened, and drops its PostgreSQL schema. */
export async function closeBareDatabase(db: Kysely<unknown>, backend: Backend, schema: string): Promise<void> {
  await db.destroy();
  if (backend.name !== 'postgres') return;
  const admin = new pg.Client({ connectionString: backend.url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
