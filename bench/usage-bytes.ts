import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { requestIdSource, uuidV7Source } from '../src/core/ids.js';
import type { UsageSink } from '../src/core/ports.js';
import { costNanoUsd, DEFAULT_PRICES, priceFor } from '../src/core/pricing.js';
import type { UsageEvent } from '../src/core/usage-event.js';
import { UsageLineWriter } from '../src/core/usage-line.js';
import { type Database, openDatabase } from '../src/storage/database.js';
import { postgresUsageSink } from '../src/storage/postgres-usage-sink.js';
import { sqliteUsageSink } from '../src/storage/sqlite-usage-sink.js';

// What a usage event costs on disk, and what the retention gives back: events as the gateway makes them (UUIDv7 event
// ids, request ids, 1,000 keys in 10 projects, ~8,000 a second) written through each backend's usage sink (SQLite: its
// worker thread), then every one of them deleted by the retention's batches and as many written again.
// Run alone: node --import tsx bench/usage-bytes.ts (USAGE_BYTES_EVENTS to resize; TEST_DATABASE_URL for PostgreSQL).

const KEYS = 1000;
const PER_WRITE = 8000;
const log = (line: string) => process.stderr.write(`${line}\n`);

function* events(total: number, startMs: number): Generator<UsageEvent> {
  const eventId = uuidV7Source(() => startMs, (n) => randomBytes(n));
  const requestId = requestIdSource((n) => randomBytes(n));
  for (let i = 0; i < total; i++) {
    const key = (i * 7919) % KEYS;
    const input = 20 + (i % 400);
    const output = 10 + (i % 300);
    yield {
      id: `evt_${eventId()}`,
      createdAtMs: startMs + Math.floor(i / 8),
      orgId: 'org-bench',
      projectId: `proj_${String(key % 10).padStart(26, '0')}`,
      apiKeyId: `key_${String(key).padStart(26, '0')}`,
      model: 'gpt-4o-mini',
      provider: 'openai',
      endpoint: '/chat/completions',
      method: 'POST',
      status: 200,
      outcome: 'ok',
      billable: true,
      inputTokens: input,
      cachedTokens: 0,
      outputTokens: output,
      latencyMs: 3 + (i % 40),
      upstreamLatencyMs: 2 + (i % 40),
      costNanoUsd: costNanoUsd(priceFor(DEFAULT_PRICES, 'gpt-4o-mini'), { input, cached: 0, output }),
      streamed: i % 3 === 0,
      errorCode: null,
      units: 0,
      unpriced: false,
      requestId: requestId(),
      upstreamRequestId: i % 2 ? requestId() : null,
      credential: 'OPENAI_API_KEY',
      serviceTier: 'default',
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
      audioInputTokens: 0,
      audioOutputTokens: 0,
      imageInputTokens: 0,
      imageOutputTokens: 0,
      webSearchRequests: 0,
    };
  }
}

async function writeAll(sink: UsageSink, total: number, startMs: number): Promise<void> {
  const w = new UsageLineWriter();
  for (const e of events(total, startMs)) {
    w.append(e);
    if (w.count === PER_WRITE) await sink.write(w.take());
  }
  if (w.count > 0) await sink.write(w.take());
}

/** Bytes on disk: SQLite's file once the WAL is checkpointed (and by table, from dbstat); PostgreSQL's relations with their indexes. */
async function sizes(database: Database): Promise<{ total: number; events: number; rollups: number }> {
  const sqlite = database.sqlite;
  if (sqlite) {
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const total = Number(sqlite.pragma('page_count', { simple: true })) * Number(sqlite.pragma('page_size', { simple: true }));
    const rows = sqlite.prepare("select name, sum(pgsize) as size from dbstat group by name").all() as Array<{ name: string; size: number }>;
    const by = (f: (n: string) => boolean) => rows.filter((r) => f(r.name)).reduce((s, r) => s + r.size, 0);
    const isEvents = (n: string) => n === 'usage_events' || n.startsWith('usage_events_') || n === 'sqlite_autoindex_usage_events_1';
    return { total, events: by(isEvents), rollups: by((n) => n.startsWith('usage_rollups_')) };
  }
  const rel = async (like: string) =>
    Number(
      (
        await sql<{ n: string }>`select coalesce(sum(pg_total_relation_size(c.oid)), 0) as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
          where s.nspname = current_schema() and c.relkind = 'r' and c.relname like ${like}`.execute(database.db)
      ).rows[0].n,
    );
  return { total: await rel('%'), events: await rel('usage_events'), rollups: await rel('usage_rollups_%') };
}

async function measure(name: string, database: Database, sink: UsageSink, total: number): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  const empty = await sizes(database);
  let started = performance.now();
  await writeAll(sink, total, t0);
  const writeSeconds = (performance.now() - started) / 1000;
  if (database.dialect === 'postgres') await sql`analyze`.execute(database.db);
  const full = await sizes(database);
  const perEvent = (b: number) => Math.round(b / total);
  log(
    `${name}: ${total} events written in ${writeSeconds.toFixed(1)} s; bytes per event: ${perEvent(full.total - empty.total)} in all ` +
      `(usage_events with its indexes ${perEvent(full.events - empty.events)}, rollups ${perEvent(full.rollups - empty.rollups)})`,
  );
  // The retention: every event deleted in its batches of 1,000, timed.
  started = performance.now();
  let batches = 0;
  while ((await sink.deleteEventsBefore(t0 + total, 1000)) > 0) batches++;
  const deleteMs = performance.now() - started;
  // PostgreSQL reuses a table's space once (auto)vacuum has marked it free; this is what autovacuum would do.
  if (database.dialect === 'postgres') await sql`vacuum usage_events`.execute(database.db);
  const emptied = await sizes(database);
  await writeAll(sink, total, t0 + total);
  const refilled = await sizes(database);
  log(
    `${name}: deleted in ${batches} batches of 1,000, ${(deleteMs / batches).toFixed(1)} ms a batch (${((deleteMs / total) * 1000).toFixed(1)} µs an event); ` +
      `size after deleting ${(emptied.total / 1e6).toFixed(1)} MB (was ${(full.total / 1e6).toFixed(1)} MB), after writing as many again ` +
      `${(refilled.total / 1e6).toFixed(1)} MB: ${perEvent(refilled.total - full.total)} bytes per new event ` +
      `(usage_events ${perEvent(refilled.events - full.events)}, rollups ${perEvent(refilled.rollups - full.rollups)})`,
  );
  if (database.dialect === 'postgres') {
    // Rollup rows are updated in place by every batch: PostgreSQL keeps the old row versions until (auto)vacuum.
    await sql`vacuum full`.execute(database.db);
    const compact = await sizes(database);
    log(`${name}: compacted (VACUUM FULL), the live data of the ${total} events left: usage_events ${perEvent(compact.events)} bytes per event, rollups ${perEvent(compact.rollups)}`);
  }
}

const total = Number(process.env.USAGE_BYTES_EVENTS ?? 400_000);
const dir = await mkdtemp(join(tmpdir(), 'tollgate-usage-bytes-'));
try {
  const sqlite = await openDatabase({ dataDir: dir });
  const sink = sqliteUsageSink(sqlite, DEFAULT_PRICES);
  log(`SQLite sink: ${sink.mode}`);
  try {
    await measure('SQLite', sqlite, sink, total);
  } finally {
    await sink.close();
    await sqlite.close();
  }
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const schema = `bytes_${randomBytes(4).toString('hex')}`;
    const postgres = await openDatabase({ url, dataDir: dir, schema });
    try {
      await measure('PostgreSQL', postgres, postgresUsageSink(postgres, DEFAULT_PRICES), total);
    } finally {
      await postgres.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
