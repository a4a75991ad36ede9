import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usageEvent } from '../test/harness/usage-event.js';
import { loadUsageSinkBuild } from './usage-sink-build.js';

// The SQLite usage sink alone, as the gateway drives it: flushes of usage lines handed to its worker thread (read,
// inserted, rolled up, committed there), timed in CPU µs per event of the whole process (the worker, and V8's helper
// threads collecting its garbage; the main thread only waits). The lines are made before the clock starts. Flushes
// of WRITER_BATCH events (default 6,000: about a second of the gateway's load on this machine) from WRITER_KEYS keys
// (default 1), WRITER_FLUSHES of them (default 40, the first 5 not counted); prints the median and least per flush.
// Runs a build (the worker runs JavaScript only), so that two builds can be set side by side:
//
//   node --import tsx bench/usage-writer-micro.ts dist
//   node --import tsx bench/usage-writer-micro.ts .tmp/quick-base/dist     (see bench/quick.ts --snapshot)

const env = process.env;
const { openDatabase, sqliteUsageSink, toUsageLine, DEFAULT_PRICES, uuidV7Source } = await loadUsageSinkBuild(process.argv[2]);

const BATCH = Number(env.WRITER_BATCH ?? 6000);
const KEYS = Number(env.WRITER_KEYS ?? 1);
const FLUSHES = Number(env.WRITER_FLUSHES ?? 40);
const WARMUP = 5;

let now = Date.UTC(2026, 10, 26, 12);
const nextId = uuidV7Source(() => now, (n: number) => new Uint8Array(n).fill(7));
let seq = 0;
/** One flush's lines, as the recorder hands them to the sink: the events of the bench's requests (tokens, a cost). */
function flushBytes(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    now += 1;
    seq++;
    const event = usageEvent({
      id: `evt_${nextId()}`,
      createdAtMs: now,
      apiKeyId: `key_${String(seq % KEYS).padStart(24, '0')}`,
      inputTokens: 8,
      outputTokens: 9,
      costNanoUsd: 6600,
      latencyMs: 1,
      upstreamLatencyMs: 0,
      requestId: `req_${seq.toString(16).padStart(32, '0')}`,
      provider: 'fake',
      credential: 'pcred_bench',
    });
    lines.push(toUsageLine(event));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

const flushes = Array.from({ length: FLUSHES }, flushBytes);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-writer-micro-'));
const db = await openDatabase({ dataDir: dir });
const sink = sqliteUsageSink(db, DEFAULT_PRICES);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const perEvent: number[] = [];
try {
  if (sink.mode !== 'worker') throw new Error(`the sink writes on the ${sink.mode}, not in its worker`);
  for (const [f, bytes] of flushes.entries()) {
    const t0 = cpuUs();
    await sink.write(bytes);
    if (f >= WARMUP) perEvent.push((cpuUs() - t0) / BATCH);
  }
} finally {
  await sink.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
const sorted = [...perEvent].sort((a, b) => a - b);
process.stdout.write(
  `${process.argv[2] ?? 'dist'}: ${BATCH} events × ${FLUSHES} flushes, ${KEYS} keys: CPU per event (all threads) median ${sorted[Math.floor((sorted.length - 1) / 2)].toFixed(2)} µs, least ${sorted[0].toFixed(2)} µs\n`,
);
