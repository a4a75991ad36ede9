import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usageEvent } from '../test/harness/usage-event.js';
import { loadUsageSinkBuild } from './usage-sink-build.js';

// Resident memory of the SQLite usage sink under a steady write load, alone: 400,000 events in batches of 2,000
// through the worker thread, then this process's resident memory now and at its peak. Runs a build (the worker runs
// JavaScript only), so that two builds can be set side by side:
//
//   node --import tsx bench/usage-worker-rss.ts dist
//   node --import tsx bench/usage-worker-rss.ts .tmp/quick-base/dist     (see bench/quick.ts --snapshot)

const { openDatabase, sqliteUsageSink, toUsageLine, DEFAULT_PRICES } = await loadUsageSinkBuild(process.argv[2]);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-worker-rss-'));
const db = await openDatabase({ dataDir: dir });
const sink = sqliteUsageSink(db, DEFAULT_PRICES);
const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
let n = 0;
const t0 = Date.UTC(2026, 10, 26);
try {
  for (let b = 0; b < 200; b++) {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(toUsageLine(usageEvent({ id: `evt_${n++}`, apiKeyId: `key_${n % 10_000}`, createdAtMs: t0 + n })));
    await sink.write(Buffer.from(`${lines.join('\n')}\n`));
  }
  process.stdout.write(`${process.argv[2] ?? 'dist'}: ${n} events written; resident ${mb('VmRSS').toFixed(0)} MB, peak ${mb('VmHWM').toFixed(0)} MB\n`);
} finally {
  await sink.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
