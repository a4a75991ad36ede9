import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type DatabaseIntrospector,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type SqliteDatabase,
  sql,
  type TableMetadata,
} from 'kysely';
import type pg from 'pg';
import { type Dialect, migrations } from './migrations.js';
import type { DB } from './schema.js';

/** node-postgres, loaded when a database is PostgreSQL (~3 MB of heap that a SQLite server never needs). */
async function loadPg(): Promise<typeof pg> {
  const { default: pg } = await import('pg');
  // int8 → number: our bigints are unix seconds and counters, far below 2^53.
  pg.types.setTypeParser(20, (v) => Number(v));
  pg.types.setTypeParser(1700, (v) => Number(v));
  return pg;
}

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** The raw better-sqlite3 handle (SQLite only), for hot bulk writes with prepared statements. */
  sqlite: SQLite.Database | null;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL; unset selects SQLite in dataDir. */
  url?: string;
  dataDir: string;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  schema?: string;
}

/** Opens the database picked by the URL and brings its schema up to date. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const isPostgres = !!opts.url && /^postgres(ql)?:\/\//.test(opts.url);
  if (opts.url && !isPostgres && !opts.url.startsWith('sqlite:')) {
    throw new Error('DATABASE_URL must start with postgres:// or postgresql:// (or sqlite:PATH)');
  }
  let db: Kysely<DB>;
  let raw: SQLite.Database | null = null;
  if (isPostgres) {
    const pg = await loadPg();
    if (opts.schema) {
      const admin = new pg.Client({ connectionString: opts.url });
      await admin.connect();
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema.replace(/"/g, '')}"`);
      await admin.end();
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: 10,
      connectionTimeoutMillis: 5000,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // A dropped connection (database restarted, network cut) must not crash the process: idle and checked-out
    // clients alike get an error listener; the queries on them fail and their callers retry or report.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    db = new Kysely<DB>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  } else {
    const file = opts.url?.startsWith('sqlite:') ? opts.url.slice('sqlite:'.length) : join(opts.dataDir, 'tollgate.db');
    if (file !== ':memory:') {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      makePrivateFile(file);
    }
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    // SQLite gives the -wal and -shm files it creates the database file's mode; ones an earlier version left are
    // tightened here.
    if (file !== ':memory:') for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    raw = sqlite;
    db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  }
  const dialect: Dialect = isPostgres ? 'postgres' : 'sqlite';
  await migrate(db, dialect);
  return { db, dialect, sqlite: raw, close: () => db.destroy() };
}

/**
 * Creates the database file readable by its owner only (0600), whatever the umask, before SQLite opens it, or makes an
 * existing one so: it holds password hashes, the audit log and people's emails (a review found it 0644). Created with
 * 'a', which never truncates.
 */
function makePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/**
 * PostgreSQL whose introspection sees only the current schema. Kysely's migrator asks the introspector whether its
 * own tables exist, and the stock one reads every schema's catalogue (`pg_get_serial_sequence` on each table): a
 * schema dropped meanwhile by someone else on a shared server (another tenant, another test's teardown) failed our
 * start with `schema "…" does not exist`. Nothing else in Tollgate introspects.
 */
export class SchemaScopedPostgresDialect extends PostgresDialect {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    const base = super.createIntrospector(db);
    return {
      getSchemas: () => base.getSchemas(),
      getMetadata: async () => ({ tables: await currentSchemaTables(db) }),
      getTables: () => currentSchemaTables(db),
    };
  }
}

// biome-ignore lint/suspicious/noExplicitAny: any Kysely instance
async function currentSchemaTables(db: Kysely<any>): Promise<TableMetadata[]> {
  const { rows } = await sql<{ name: string; schema: string }>`
    select table_name as name, table_schema as schema from information_schema.tables
    where table_schema = current_schema()`.execute(db);
  return rows.map((r) => ({ name: r.name, schema: r.schema, isView: false, columns: [] }));
}

/** Prepared statements kept per SQL text (Kysely's SQLite driver prepares every query anew). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 for Kysely with a bounded cache of prepared statements: preparing parses and plans the SQL, and for
 * the short queries of the control plane (a key's first lookup, its networks, an admin read) it cost more than
 * running them, on the event loop. Kysely binds every value as a parameter, so the texts are as many as the query
 * shapes. A statement still being iterated (`busy`) is not handed out again: that call gets a fresh one.
 */
export function withStatementCache(sqlite: SQLite.Database, max = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text) {
      const hit = cache.get(text);
      if (hit && !hit.busy) return hit;
      const stmt = sqlite.prepare(text);
      if (!hit) {
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

async function migrate(db: Kysely<DB>, dialect: Dialect): Promise<void> {
  const all = migrations(dialect);
  // Name the schema explicitly: Kysely's existence check otherwise sees same-named tables in other schemas.
  const schema =
    dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  // Kysely's migrator takes a row lock (Postgres) so instances starting together migrate once.
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => all },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`);
  }
}

/** Runs fn inside a transaction that holds a cluster-wide lock (Postgres advisory lock; SQLite's write lock). */
export async function withGlobalLock<T>(database: Database, lockId: number, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return database.db.transaction().execute(async (trx) => {
    if (database.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${lockId})`.execute(trx);
    return fn(trx);
  });
}
