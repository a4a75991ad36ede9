import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import type { UsageEvent } from '../src/core/usage-event.js';
import { toUsageLine } from '../src/core/usage-line.js';
import type { DB } from '../src/storage/schema.js';
import { type Backend, describeEachDatabase, freshSchema } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { eventOfRow } from './harness/usage-event.js';

// Issue 16 §2b: one event the database cannot write must not stop metering. Events are forced to fail below the
// gateway's door checks: recorded straight into the usage recorder, with a model a trigger refuses (on both backends),
// and with U+0000 in the model (which PostgreSQL cannot store; SQLite can).

const ORG = '/v1/organization';
const POISON = 'poisoned-model';
const DEAD_LETTER = 'usage-dead-letter.jsonl';

/** A trigger that refuses every usage event of the model POISON, as a database refuses a value it cannot store. */
async function installPoison(db: Kysely<DB>, backend: Backend): Promise<void> {
  if (backend.name === 'sqlite') {
    await sql
      .raw(`CREATE TRIGGER usage_poison BEFORE INSERT ON usage_events WHEN NEW.model = '${POISON}' BEGIN SELECT RAISE(ABORT, 'poisoned event refused'); END`)
      .execute(db);
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION usage_poison() RETURNS trigger AS $$ BEGIN IF NEW.model = '${POISON}' THEN RAISE EXCEPTION 'poisoned event refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
    )
    .execute(db);
  await sql.raw('CREATE TRIGGER usage_poison BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION usage_poison()').execute(db);
}

function chat(t: TestServer, key: string) {
  return fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

async function eventsOf(t: TestServer, keyId: string) {
  return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).orderBy('created_at_ms').execute();
}

function deadLetters(dataDir: string) {
  const file = join(dataDir, DEAD_LETTER);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describeEachDatabase('usage events the database refuses', (backend) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** A server on `dataDir` and `schema` (kept across restarts), its log lines collected. */
  async function start(dataDir: string, schema: string, log: string[]) {
    const t = await startTestServer(backend, {
      dataDir,
      schema,
      keepSchema: true,
      logger: pino({ level: 'warn' }, { write: (line: string) => log.push(line) }),
      env: { TOLLGATE_USAGE_FLUSH_MS: '60000' },
    });
    return t;
  }

  async function dropSchema(schema: string) {
    if (backend.name !== 'postgres' || !backend.url) return;
    const c = new pg.Client({ connectionString: backend.url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }

  it('writes the rest, sets the bad event aside with its error, goes on metering, and neither replays it nor miscounts the quota after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-dead-letter-'));
    const schema = freshSchema();
    cleanups.push(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await dropSchema(schema);
    });
    const log: string[] = [];
    let t = await start(dataDir, schema, log);
    await installPoison(t.server.runtime.database.db, backend);
    const key = (
      await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'metered', request_quota: { max_requests: 7, interval: 'total' } } })
    ).body;
    expect((await chat(t, key.value)).status).toBe(200);
    await t.server.gateway.usage.flush();
    const real = eventOfRow((await eventsOf(t, key.id))[0]);
    const like = (id: string, model: string): UsageEvent => ({ ...real, id, model, createdAtMs: real.createdAtMs + 1 });

    // A flush whose batch holds good events around two bad ones.
    const usage = t.server.gateway.usage;
    expect((await chat(t, key.value)).status).toBe(200);
    usage.record(like('evt_poisoned', POISON));
    usage.record(like('evt_nul', 'gpt\u0000nul'));
    expect((await chat(t, key.value)).status).toBe(200);
    await usage.flush();

    const stored = await eventsOf(t, key.id);
    expect(stored.map((e) => e.id)).not.toContain('evt_poisoned');
    expect(stored.filter((e) => e.model === 'tollgate-echo')).toHaveLength(3);
    // U+0000: SQLite stores it; PostgreSQL refuses it, and the event is written with its model quoted instead.
    const nul = stored.find((e) => e.id === 'evt_nul');
    expect(nul?.model).toBe(backend.name === 'postgres' ? '"gpt\\000nul"' : 'gpt\u0000nul');

    const dead = deadLetters(dataDir);
    expect(dead.map((d) => d.id).sort()).toEqual(backend.name === 'postgres' ? ['evt_nul', 'evt_poisoned'] : ['evt_poisoned']);
    const poisoned = dead.find((d) => d.id === 'evt_poisoned');
    expect(poisoned).toMatchObject({ salvaged: false, error: expect.stringContaining('poisoned event refused') });
    expect(poisoned.error_code).toBe(backend.name === 'postgres' ? 'P0001' : 'SQLITE_CONSTRAINT_TRIGGER');
    expect(JSON.parse(poisoned.line)).toEqual(JSON.parse(toUsageLine(like('evt_poisoned', POISON))));
    if (backend.name === 'postgres') {
      expect(dead.find((d) => d.id === 'evt_nul')).toMatchObject({ salvaged: true, error_code: '22021', error: expect.stringContaining('0x00') });
    }
    if (backend.name === 'sqlite' || process.platform !== 'win32') {
      expect(readFileSync(join(dataDir, DEAD_LETTER)).length).toBeGreaterThan(0);
    }
    // Reported: the log, /metrics, /readyz (still ready: every other event is written).
    expect(log.some((l) => l.includes('evt_poisoned') && l.includes('dead-letter'))).toBe(true);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('tollgate_usage_events_total{fate="dead_lettered"} ' + dead.length);
    expect(metrics).toContain(`tollgate_usage_dead_letter_events ${dead.length}`);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).usage).toEqual({ dead_letter_events: dead.length, dead_letter_file: DEAD_LETTER });

    // Metering goes on.
    expect((await chat(t, key.value)).status).toBe(200);
    await usage.flush();
    expect((await eventsOf(t, key.id)).filter((e) => e.model === 'tollgate-echo')).toHaveLength(4);
    await t.server.close();

    // After a restart nothing is replayed, and the quota is seeded from what was written: 4 requests and the
    // salvaged (or stored) one of 7, so 2 more.
    t = await start(dataDir, schema, log);
    expect(t.server.gateway.usage.stats.recovered).toBe(0);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat(t, key.value)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    await t.server.gateway.usage.flush();
    expect(deadLetters(dataDir)).toHaveLength(dead.length);
    await t.server.close();
  });

  it('a write-ahead log left holding a bad event is replayed once: the event is set aside, never again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-dead-letter-'));
    const schema = freshSchema();
    cleanups.push(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await dropSchema(schema);
    });
    const log: string[] = [];
    let t = await start(dataDir, schema, log);
    await installPoison(t.server.runtime.database.db, backend);
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'crashed' } })).body;
    expect((await chat(t, key.value)).status).toBe(200);
    await t.server.gateway.usage.flush();
    const real = eventOfRow((await eventsOf(t, key.id))[0]);
    await t.server.close();

    // What a run that could not write a bad event left in its log when it stopped (before this fix: every run).
    const like = (id: string, model: string): UsageEvent => ({ ...real, id, model });
    mkdirSync(join(dataDir, 'wal'), { recursive: true });
    const left = [like('evt_before', 'tollgate-echo'), like('evt_stuck', POISON), like('evt_after', 'tollgate-echo')].map((e) => `${toUsageLine(e)}\n`).join('');
    writeFileSync(join(dataDir, 'wal', 'usage-wal-0000000001.jsonl'), left);

    t = await start(dataDir, schema, log);
    expect(t.server.gateway.usage.stats.recovered).toBe(3);
    await t.server.gateway.usage.flush();
    const ids = (await eventsOf(t, key.id)).map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['evt_before', 'evt_after']));
    expect(ids).not.toContain('evt_stuck');
    expect(deadLetters(dataDir).map((d) => d.id)).toEqual(['evt_stuck']);
    await t.server.close();

    t = await start(dataDir, schema, log);
    expect(t.server.gateway.usage.stats.recovered).toBe(0);
    await t.server.gateway.usage.flush();
    expect(deadLetters(dataDir).map((d) => d.id)).toEqual(['evt_stuck']);
    await t.server.close();
  });
});
