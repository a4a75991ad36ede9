import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { KeyNetworkRow, LastUsedRows } from '../core/ports.js';
import { usageValuesEach } from '../core/usage-line.js';
import { eventPruner, lastUsedWriter, networkWriter, preparedBatchWriter, WORKER_CHECKPOINT_PAGES } from './sqlite-usage-statements.js';

// Worker thread: the SQLite usage sink's writes, on its own connection, off the gateway's event loop.
const { file, prices } = workerData as { file: string; prices: Record<string, { input: number; cached_input?: number; output?: number }> };
const sqlite = new SQLite(file);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('synchronous = NORMAL');
// With many keys in use each flush updates rollup rows all over the per-key rollup tables: a page cache that holds
// those pages saves re-reading them every flush (measured with 1,000 keys over 900,000 events, when usage_events still
// had a per-key index: 15.0 → 13.2 µs of CPU per event with 64 MB instead of SQLite's 2 MB default). Without that index
// 8 MB holds what a flush touches: with 1,000 keys rotating at 32 connections the threads off the event loop used
// 23–34 µs per request with a 64, 8 or 2 MB cache alike (noise), while a 64 MB cache filled up and made the
// process's resident memory 60–70 MB larger after a few minutes of load (issue 18 §6: ≤ 160 MB at 10,000 keys).
sqlite.pragma('cache_size = -8192');
// This connection runs the checkpoints (the gateway's own connection runs none while the worker is up: see
// sqlite-usage-sink.ts). With many keys in use every flush dirties pages all over the per-key rollup tables;
// checkpointing every 10,000 WAL pages (40 MB) instead of 1,000 copies those pages back far less often (measured with
// 1,000 keys: commit 4.2 → 3.1 µs of worker CPU per event).
sqlite.pragma(`wal_autocheckpoint = ${WORKER_CHECKPOINT_PAGES}`);
const writeAll = preparedBatchWriter(sqlite, prices);
const writeLastUsed = lastUsedWriter(sqlite);
const writeNetwork = networkWriter(sqlite);
const prune = eventPruner(sqlite);

interface Message {
  id: number;
  bytes?: Uint8Array;
  lastUsed?: LastUsedRows;
  network?: KeyNetworkRow;
  prune?: { beforeMs: number; max: number };
}

// Usage lines ({ bytes }), key last-used times ({ lastUsed }), a key's new network ({ network }, answered with whether
// it was new) or a batch of old events to delete ({ prune }, answered with how many), in the order they were sent:
// a retention batch is one transaction between two usage writes, never holding them back long.
parentPort?.on('message', (m: Message) => {
  try {
    let result: unknown;
    if (m.lastUsed) writeLastUsed(m.lastUsed);
    else if (m.network) result = writeNetwork(m.network);
    else if (m.prune) result = prune(m.prune.beforeMs, m.prune.max);
    else if (m.bytes) writeAll(usageValuesEach(m.bytes));
    parentPort?.postMessage({ id: m.id, result });
  } catch (err) {
    // The code and name go along: the recorder tells data errors (split and set aside) from others (retried) by them.
    const e = err as { message?: unknown; code?: unknown; name?: unknown };
    parentPort?.postMessage({ id: m.id, error: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined, name: typeof e?.name === 'string' ? e.name : undefined });
  }
});
