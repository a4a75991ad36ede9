import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { usageRowOf } from '../services/usage-line.js';
import { preparedBatchWriter } from './sqlite-usage-writer.js';

// Worker thread: writes usage batches on its own SQLite connection, off the gateway's event loop.
const { file, prices } = workerData as { file: string; prices: Record<string, { input: number; cached_input?: number; output?: number }> };
const sqlite = new SQLite(file);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('synchronous = NORMAL');
const writeAll = preparedBatchWriter(sqlite, prices);

parentPort?.on('message', (m: { id: number; text: string }) => {
  try {
    writeAll(m.text.split('\n').map(usageRowOf));
    parentPort?.postMessage({ id: m.id });
  } catch (err) {
    parentPort?.postMessage({ id: m.id, error: String((err as Error).message ?? err) });
  }
});
