import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { UsageSink } from '../core/ports.js';
import type { ModelPrice } from '../core/pricing.js';
import type { Database } from './database.js';
import { usageValuesIn } from '../core/usage-line.js';
import { eventPruner, lastUsedWriter, networkWriter, preparedBatchWriter } from './sqlite-usage-statements.js';

/** Events per transaction in the worker thread. */
const WORKER_BATCH = 50_000;
/** Events per transaction on the main thread (where no worker can run): small, so no request waits long. */
const MAIN_THREAD_BATCH = 500;
/** Usage events deleted per transaction on the main thread, whatever the retention asks for (a few milliseconds). */
const MAIN_THREAD_PRUNE = 500;
/** First pause before a stopped usage worker is started again (doubled, up to a minute, while it keeps dying). */
const WORKER_RESTART_MS = 1000;
/**
 * The worker's young generation (MB). V8 sizes it for a main thread (tens of MB); the worker's garbage is short-lived
 * batches, which a small nursery collects as cheaply, and each MB of it is resident memory: bench/usage-worker-rss.ts
 * (the sink alone, 400,000 events) peaked at 223–226 MB with the default and 204–207 MB with this.
 */
const WORKER_YOUNG_GENERATION_MB = 6;
/** SQLite's default, which the gateway's connection gets back when the worker stops. */
const DEFAULT_CHECKPOINT_PAGES = 1000;

type Prices = Readonly<Record<string, ModelPrice>>;

/** The SQLite usage sink, and how it writes now. */
export interface SqliteUsageSink extends UsageSink {
  readonly mode: 'worker' | 'main-thread';
  /** The thread writing, when one is (diagnostics and tests). */
  readonly worker?: Worker;
}

/**
 * Starts the worker: the built entry next to this file (dist), or in development (`node --import tsx`) the TypeScript
 * entry through tsx's loader, which Node 20 does not pass on to workers by itself. Null when neither applies.
 */
function startWorker(workerData: unknown): Worker | null {
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  const js = new URL('./sqlite-usage-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData, resourceLimits });
  const ts = new URL('./sqlite-usage-worker.ts', import.meta.url);
  const hasTsx = process.execArgv.some((a) => a === 'tsx' || a.endsWith('=tsx'));
  if (!hasTsx || !existsSync(fileURLToPath(ts))) return null;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true, workerData, execArgv: [], resourceLimits });
}

/**
 * The SQLite usage sink. better-sqlite3 is synchronous, so writing on the event loop stalls every request meanwhile
 * (measured: ~30 µs of CPU per request and stalls past 100 ms; last-used times 23–25 ms every 5 s with 1,000 keys in
 * use; a key's first network waited behind a whole flush). So everything goes to a worker thread with its own
 * connection (WAL mode lets the main thread keep reading keys); where no worker can run (an in-memory database, a test
 * runner that cannot load the worker, `worker: false`), prepared statements on the main connection, under Kysely's lock.
 * A worker that stops other than by close() hands its work to the event loop until a new one is started, after
 * `restartDelayMs` (1 s; doubled, up to a minute, each time it dies within a minute of starting).
 */
export function sqliteUsageSink(database: Database, prices: Prices, opts: { worker?: boolean; restartDelayMs?: number } = {}): SqliteUsageSink {
  const sqlite = database.sqlite;
  if (!sqlite) throw new Error('the SQLite usage sink needs a SQLite database');
  const first = opts.worker === false || sqlite.memory ? null : startWorker({ file: sqlite.name, prices });
  if (!first) return mainThreadSink(database, prices);
  const baseDelay = opts.restartDelayMs ?? WORKER_RESTART_MS;
  let seq = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  /** Set while the worker is down (stopped other than by close()): the event loop then writes, as where none can run. */
  let fallback: SqliteUsageSink | null = null;
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
      fallback = mainThreadSink(database, prices);
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
    get mode() {
      return fallback ? fallback.mode : 'worker';
    },
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
    deleteEventsBefore(beforeMs, max) {
      if (fallback) return fallback.deleteEventsBefore(beforeMs, max);
      return send({ prune: { beforeMs, max } }, []).then((n) => Number(n));
    },
    async close() {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      await worker.terminate();
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
    },
  };
}

/**
 * The main-thread fallback: prepared statements on the gateway's own connection, under Kysely's lock, in small
 * transactions so that no request waits long.
 */
function mainThreadSink(database: Database, prices: Prices): SqliteUsageSink {
  const sqlite = database.sqlite as SQLite.Database;
  const writeAll = preparedBatchWriter(sqlite, prices);
  const writeLastUsed = lastUsedWriter(sqlite);
  const writeNetwork = networkWriter(sqlite);
  const prune = eventPruner(sqlite);
  const locked = <T>(fn: () => T): Promise<T> => database.db.connection().execute(async () => fn());
  return {
    mode: 'main-thread',
    maxBatch: MAIN_THREAD_BATCH,
    async write(lines) {
      const batch = usageValuesIn(lines);
      for (let i = 0; i < batch.length; i += MAIN_THREAD_BATCH) await locked(() => writeAll(batch.slice(i, i + MAIN_THREAD_BATCH)));
    },
    writeLastUsed: (rows) => locked(() => writeLastUsed(rows)),
    rememberNetwork: (row) => locked(() => writeNetwork(row)),
    deleteEventsBefore: (beforeMs, max) => locked(() => prune(beforeMs, Math.min(max, MAIN_THREAD_PRUNE))),
    async close() {},
  };
}
