import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { PasswordHasher } from '../../src/core/ports.js';
import { argon2Hasher } from '../../src/infra/argon2-hasher.js';
import { createAdminKey } from '../../src/services/admin-keys.js';
import { type Server, startServer } from '../../src/server.js';
import { openDatabase } from '../../src/storage/database.js';
import { type Backend, freshSchema } from './backends.js';
import { listenOnLoopback } from './provider-config.js';

export interface TestServer {
  server: Server;
  url: string;
  adminKey: string;
  adminKeyId: string;
  orgId: string;
  defaultProjectId: string;
  dataDir: string;
  schema: string;
  /** The first sign-up's setup token when this instance knows it (generated here, or TOLLGATE_SETUP_TOKEN). */
  setupToken: string | null;
  /** JSON request helper; returns status, parsed body and headers. */
  api(method: string, path: string, opts?: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: string }): Promise<ApiResult>;
  close(): Promise<void>;
}

export interface ApiResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  text: string;
  headers: Headers;
}

// A SQLite file migrated once per test process: a server on a data dir the harness makes starts on a copy of it instead
// of migrating an empty file, ~18 ms of CPU each for ~195 servers a run (issue 14: npm test under a minute). The copy
// holds the schema only (no migration inserts into empty tables). Migrating an empty file at start stays exercised by
// every server started on its own data dir or as a process, and migrations are tested in src/storage/migrations*.test.ts.
let template: Promise<Buffer> | undefined;

/**
 * Argon2id at the least cost the library takes (8 KiB, one pass): the suite creates and signs in to a few hundred
 * accounts, ~50 ms of CPU each at OWASP's profile (issue 14: npm test under a minute). Passwords are still hashed and
 * verified for real; servers started with `productionPasswords` (and every server started as a process, and the CLI)
 * use OWASP's profile, which test/dashboard-auth.test.ts checks in the stored hash.
 */
export const testPasswords = argon2Hasher({ memoryCost: 8, timeCost: 1 });

/** The bytes of a migrated, checkpointed SQLite file, to write into a new data dir as its tollgate.db. */
export function migratedSqliteTemplate(): Promise<Buffer> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-template-'));
    try {
      const database = await openDatabase({ dataDir: dir });
      // The whole schema in the main file, nothing left in a write-ahead log the copy would miss.
      database.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
      await database.close();
      return readFileSync(join(dir, 'tollgate.db'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return template;
}

/** The server secret of each shared database (PostgreSQL schema, SQLite DATABASE_URL) a server of this process started on. */
const databaseSecrets = new Map<string, string>();

/** Writes a gateway config (providers, routes, prices) to a fresh temp dir; its path is for TOLLGATE_CONFIG. */
export function gatewayConfigFile(config: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-config-')), 'tollgate.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Starts a server on a temp data dir (and a fresh Postgres schema) with an admin key ready. */
export async function startTestServer(
  backend: Backend,
  opts: {
    env?: Record<string, string>;
    logger?: Logger;
    clock?: () => number;
    schema?: string;
    keepSchema?: boolean;
    /** An existing data dir (restarts on what an earlier server left). */
    dataDir?: string;
    /** Start without the admin key the harness otherwise creates (a truly fresh instance). */
    noAdminKey?: boolean;
    /** Hash passwords at the production profile instead of testPasswords'. */
    productionPasswords?: boolean;
    /** The password hasher itself (a test that holds a check at a chosen moment wraps testPasswords). */
    passwords?: PasswordHasher;
  } = {},
): Promise<TestServer> {
  // An existing data dir (and schema) restarts on what an earlier server left.
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  if (!opts.dataDir && backend.name === 'sqlite' && !opts.env?.DATABASE_URL && !opts.env?.TOLLGATE_DATA_DIR) {
    writeFileSync(join(dataDir, 'tollgate.db'), await migratedSqliteTemplate());
  }
  const schema = opts.schema ?? freshSchema();
  // Servers sharing a database share its secret (docs/deployment.md; a start under another is refused): a server on a
  // database an earlier one of this process used (one PostgreSQL schema, a SQLite file named by DATABASE_URL, each
  // server with a data dir of its own) takes its secret, unless the test names one.
  const named = opts.env?.DATABASE_URL?.startsWith('sqlite:') ? opts.env.DATABASE_URL : null;
  const database = backend.name === 'postgres' ? `postgres:${schema}` : (named ?? `sqlite:${join(dataDir, 'tollgate.db')}`);
  const shared = (backend.name === 'postgres' || named) && !opts.env?.TOLLGATE_SECRET ? databaseSecrets.get(database) : undefined;
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    TOLLGATE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TOLLGATE_CHANGE_POLL_MS: '200',
    TOLLGATE_SHUTDOWN_GRACE_MS: '300',
    ...(backend.name === 'postgres' ? { DATABASE_URL: backend.url } : {}),
    ...(shared ? { TOLLGATE_SECRET: shared } : {}),
    ...opts.env,
  });
  const server = await startServer(config, {
    logger: opts.logger ?? pino({ level: 'silent' }),
    clock: opts.clock,
    passwords: opts.passwords ?? (opts.productionPasswords ? undefined : testPasswords),
    schema: backend.name === 'postgres' ? schema : undefined,
  });
  const { runtime } = server;
  databaseSecrets.set(database, runtime.secret);
  const admin = opts.noAdminKey
    ? { id: '', value: '' }
    : await createAdminKey(runtime.deps, runtime.org.id, { name: 'test-admin' }, { type: 'system', id: null });
  const project = await runtime.database.db.selectFrom('projects').select('id').orderBy('seq').executeTakeFirstOrThrow();
  const url = server.url;
  return {
    server,
    url,
    adminKey: admin.value,
    adminKeyId: admin.id,
    orgId: runtime.org.id,
    defaultProjectId: project.id,
    dataDir,
    schema,
    setupToken: server.setup.kind === 'here' ? server.setup.token : null,
    async api(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const key = o.key === undefined ? admin.value : o.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let payload: string | undefined = o.raw;
      if (o.body !== undefined) payload = JSON.stringify(o.body);
      if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, body: payload });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      return { status: res.status, body, text, headers: res.headers };
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (backend.name === 'postgres' && backend.url && !opts.keepSchema) {
        const c = new pg.Client({ connectionString: backend.url });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
    },
  };
}

/**
 * The usage events of one key, once at least `atLeast` are written: the recorder is flushed and the table read until
 * they are (a request's event is recorded as its answer ends, which may be after the client saw it).
 */
export async function usageEventsOf(t: TestServer, keyId: string, atLeast = 1): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 100; i++) {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
    if (rows.length >= atLeast) return rows;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${atLeast} usage events for ${keyId}`);
}

/**
 * A gateway (SQLite) in front of `upstream`, which is started here on loopback and answers both kinds: `gpt-*` go to
 * it as OpenAI (provider `oai`), `claude-*` as Anthropic (provider `ant`).
 */
export async function gatewayForBothKinds(upstream: HttpServer): Promise<TestServer> {
  const url = `${await listenOnLoopback(upstream)}/v1`;
  const file = gatewayConfigFile({
    providers: [
      { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY' },
      { name: 'oai', base_url: url, api_key_env: 'UP_KEY' },
    ],
    routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
  });
  return startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
}

/**
 * A second PostgreSQL connection on a test server's schema, outside the server: a test holds rows or locks with it to
 * set one interleaving of two requests for sure.
 */
export async function sideConnection(t: TestServer, url: string): Promise<pg.Client> {
  const side = new pg.Client({ connectionString: url });
  await side.connect();
  await side.query(`set search_path to "${t.schema}"`);
  return side;
}

/** Creates a key in the server's default project (its answer, the secret in `value`), and reads one back by id. */
export function defaultProjectKeys(t: TestServer) {
  const base = `/v1/organization/projects/${t.defaultProjectId}/api_keys`;
  return {
    // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
    newKey: async (name: string): Promise<any> => (await t.api('POST', base, { body: { name } })).body,
    // biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
    keyOf: async (id: string): Promise<any> => (await t.api('GET', `${base}/${id}`)).body,
  };
}
