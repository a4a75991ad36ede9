import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { ModelPrice } from '../core/pricing.js';
import type { KeyNetworkRow, KeyNetworkSink } from '../services/anomaly.js';
import { type LastUsedSink, sqliteLastUsedWriter } from '../services/last-used.js';
import { USAGE_COLUMNS, type UsageRow, usageEventOf, usageLinesIn, usageRowOf } from '../services/usage-line.js';
import type { UsageEvent } from '../services/usage-recorder.js';
import { aggregateRollups } from '../services/usage-rollups.js';
import type { Database } from './database.js';
import { COSTS_KEY_KEY, COSTS_KEY_SUMS, ROLLUP_KEY, ROLLUP_SUMS, ROLLUP_TABLES } from './schema-rollups.js';

/** Events per transaction in the worker thread. */
const WORKER_BATCH = 50_000;
/** Events per transaction on the main thread (where no worker can run). */
const MAIN_THREAD_BATCH = 500;
/** WAL pages between checkpoints on the worker's connection (SQLite's default is 1,000). */
export const WORKER_CHECKPOINT_PAGES = 10_000;
/** First pause before a stopped usage worker is started again (doubled, up to a minute, while it keeps dying). */
const WORKER_RESTART_MS = 1000;
/** SQLite's default, which the gateway's connection gets back when the worker stops. */
const DEFAULT_CHECKPOINT_PAGES = 1000;

type Prices = Readonly<Record<string, ModelPrice>>;

/**
 * Prepared statements for a usage batch on one better-sqlite3 connection: insert-or-ignore by event id (positional
 * parameters: rows as the usage lines carry them), then roll up only the newly inserted events, in one transaction.
 * Synchronous, as better-sqlite3 is.
 */
export function preparedBatchWriter(sqlite: SQLite.Database, prices: Prices): (batch: UsageRow[]) => void {
  const insert = sqlite.prepare(
    `INSERT INTO usage_events (${USAGE_COLUMNS.join(', ')}) VALUES (${USAGE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT(id) DO NOTHING`,
  );
  const columns = [...ROLLUP_KEY, ...ROLLUP_SUMS];
  const upserts = new Map<string, SQLite.Statement>(
    ROLLUP_TABLES.map(({ table }) => [
      table,
      sqlite.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')}) ` +
          `ON CONFLICT(${ROLLUP_KEY.join(', ')}) DO UPDATE SET ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
    ]),
  );
  const costColumns = [...COSTS_KEY_KEY, ...COSTS_KEY_SUMS];
  const costsByKey = sqlite.prepare(
    `INSERT INTO usage_costs_key_1d (${costColumns.join(', ')}) VALUES (${costColumns.map((c) => `@${c}`).join(', ')}) ` +
      `ON CONFLICT(${COSTS_KEY_KEY.join(', ')}) DO UPDATE SET ${COSTS_KEY_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
  );
  return sqlite.transaction((batch: UsageRow[]) => {
    const inserted: UsageEvent[] = [];
    for (const row of batch) if (insert.run(row).changes === 1) inserted.push(usageEventOf(row));
    if (inserted.length === 0) return;
    const rows = aggregateRollups(inserted, prices);
    for (const { table } of ROLLUP_TABLES) {
      const stmt = upserts.get(table) as SQLite.Statement;
      for (const r of rows[table]) stmt.run(r);
    }
    for (const r of rows.usage_costs_key_1d) costsByKey.run(r);
  });
}

/**
 * Starts the worker: the built entry next to this file (dist), or in development (`node --import tsx`) the TypeScript
 * entry through tsx's loader, which Node 20 does not pass on to workers by itself. Null when neither applies.
 */
function startWorker(workerData: unknown): Worker | null {
  const js = new URL('./sqlite-usage-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./sqlite-usage-worker.ts', import.meta.url);
  const hasTsx = process.execArgv.some((a) => a === 'tsx' || a.endsWith('=tsx'));
  if (!hasTsx || !existsSync(fileURLToPath(ts))) return null;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true, workerData, execArgv: [] });
}

/** The rows of usage lines given as UTF-8 bytes, each line ending in a newline. */
export function usageRowsOf(bytes: Uint8Array): UsageRow[] {
  return usageLinesIn(bytes).map(usageRowOf);
}

/** The SQLite write of a key's new network (ignored when known); true when it was new. */
export function sqliteNetworkWriter(sqlite: SQLite.Database): (row: KeyNetworkRow) => boolean {
  const insert = sqlite.prepare('INSERT INTO key_networks (key_id, network, first_seen) VALUES (?, ?, ?) ON CONFLICT(key_id, network) DO NOTHING');
  return (row) => insert.run(row.key_id, row.network, row.first_seen).changes === 1;
}

export interface UsageBatchWriter extends LastUsedSink, KeyNetworkSink {
  /** Writes events given as usage lines in UTF-8, each ending in a newline (the worker gets its own copy of the bytes). */
  write(lines: Uint8Array): Promise<void>;
  /** Most events per write. */
  readonly maxBatch: number;
  close(): Promise<void>;
  readonly mode: 'worker' | 'main-thread';
  /** The thread writing, when one is (diagnostics and tests). */
  readonly worker?: Worker;
}

/**
 * The SQLite writer of usage batches. better-sqlite3 is synchronous, so writing on the event loop stalls every request
 * meanwhile (measured: ~30 µs of CPU per request and stalls past 100 ms). So batches go to a worker thread with its
 * own connection (WAL mode lets the main thread keep reading keys); where no worker can run (an in-memory database,
 * or a test runner that cannot load the worker), prepared statements on the main connection, under Kysely's lock.
 * A worker that stops other than by close() hands its writes to the event loop until a new one is started, after
 * `restartDelayMs` (1 s; doubled, up to a minute, each time it dies within a minute of starting).
 */
export function sqliteUsageWriter(
  database: Database,
  prices: Prices,
  opts: { worker?: boolean; restartDelayMs?: number } = {},
): UsageBatchWriter | null {
  const sqlite = database.sqlite;
  if (!sqlite) return null;
  const first = opts.worker === false || sqlite.memory ? null : startWorker({ file: sqlite.name, prices });
  if (!first) return mainThreadWriter(database, prices);
  const baseDelay = opts.restartDelayMs ?? WORKER_RESTART_MS;
  let seq = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  /** Set while the worker is down (stopped other than by close()): the event loop then writes, as where none can run. */
  let fallback: UsageBatchWriter | null = null;
  let closing = false;
  let worker: Worker = first;
  let startedAt = performance.now(); // elapsed real time (restart backoff), not the injected wall clock
  let delay = baseDelay;
  let restartTimer: NodeJS.Timeout | null = null;
  const adopt = (w: Worker) => {
    worker = w;
    startedAt = performance.now();
    w.unref();
    // A commit past the checkpoint threshold runs the checkpoint in the committing connection: the gateway's own
    // commits (admin writes) would then copy up to 40 MB on the event loop. The worker's connection does them all.
    sqlite.pragma('wal_autocheckpoint = 0');
    let down = false;
    const stopped = (err: Error) => {
      if (closing || down) return;
      down = true;
      fallback = mainThreadWriter(database, prices);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
      // Started again after a pause, doubled each time it dies within a minute of starting.
      const wait = performance.now() - startedAt < 60_000 ? delay : baseDelay;
      delay = Math.min(wait * 2, 60_000);
      restartTimer = setTimeout(restart, wait);
      restartTimer.unref();
    };
    w.on('message', (m: { id: number; error?: string; code?: string; name?: string; result?: unknown }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(Object.assign(new Error(m.error), { code: m.code, ...(m.name ? { name: m.name } : {}) }));
      else p?.resolve(m.result);
    });
    w.on('error', stopped);
    w.on('exit', (code) => stopped(new Error(`the usage worker stopped (exit code ${code})`)));
  };
  const restart = () => {
    restartTimer = null;
    if (closing || !sqlite.open) return;
    const w = startWorker({ file: sqlite.name, prices });
    if (!w) return;
    adopt(w);
    fallback = null;
  };
  adopt(first);
  const send = (message: Record<string, unknown>, transfer: ArrayBuffer[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...message }, transfer);
    }).finally(() => {
      if (pending.size === 0) worker.unref();
    });
  return {
    mode: 'worker',
    // A whole flush in one transaction: the rollups then get one upsert per key and bucket per flush rather than per
    // 500 events (measured with 1,000 keys in use: worker CPU per event 20–24 µs with 500-event batches).
    maxBatch: WORKER_BATCH,
    get worker() {
      return worker;
    },
    write(lines) {
      if (fallback) return fallback.write(lines);
      // A copy moved (not cloned) into the worker: the caller keeps its bytes to retry a failed write.
      const bytes = new Uint8Array(lines.byteLength);
      bytes.set(lines);
      return send({ bytes }, [bytes.buffer]).then(() => {});
    },
    writeLastUsed(rows) {
      if (fallback) return fallback.writeLastUsed(rows);
      return send({ lastUsed: rows }, []).then(() => {});
    },
    rememberNetwork(row) {
      if (fallback) return fallback.rememberNetwork(row);
      return send({ network: row }, []).then((inserted) => inserted === true);
    },
    async close() {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      await worker.terminate();
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
    },
  };
}

/** Prepared statements on the gateway's own connection, under Kysely's lock: small transactions, so no request waits long. */
function mainThreadWriter(database: Database, prices: Prices): UsageBatchWriter {
  const sqlite = database.sqlite as SQLite.Database;
  const writeAll = preparedBatchWriter(sqlite, prices);
  const writeLastUsed = sqliteLastUsedWriter(sqlite);
  const writeNetwork = sqliteNetworkWriter(sqlite);
  return {
    mode: 'main-thread',
    maxBatch: MAIN_THREAD_BATCH,
    async write(lines) {
      const rows = usageRowsOf(lines);
      for (let i = 0; i < rows.length; i += MAIN_THREAD_BATCH) {
        await database.db.connection().execute(async () => {
          writeAll(rows.slice(i, i + MAIN_THREAD_BATCH));
        });
      }
    },
    async writeLastUsed(rows) {
      await database.db.connection().execute(async () => writeLastUsed(rows));
    },
    rememberNetwork(row) {
      return database.db.connection().execute(async () => writeNetwork(row));
    },
    async close() {},
  };
}
