import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DATA_DIR_LOCK, LOCK_STALE_MS } from '../src/infra/data-dir-lock.js';
import { startTestServer } from './harness/server.js';

// A container restarted at once after a crash finds its previous life's lock under the same host and process id (1),
// which no process can ask: it exited, and its orchestrator restarted it over and over until the lock went stale
// (found by a review). A start now waits for such a lock to go stale, and takes it.

it('a start waits for a lock under its own host and process id to go stale, then serves', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-restart-'));
  const lock = join(dataDir, DATA_DIR_LOCK);
  writeFileSync(lock, `${process.pid} ${hostname()} previous-life\n`);
  // Last touched a little less than the stale bound ago: stale within a second or two. By the file system's clock (the
  // one the lock's age is read against), not Date.now(): under test:shifted they are ten years apart.
  const fsNow = statSync(lock).mtimeMs;
  const touched = (fsNow - LOCK_STALE_MS + 1500) / 1000;
  utimesSync(lock, touched, touched);
  const started = performance.now();
  const t = await startTestServer({ name: 'sqlite' }, { dataDir });
  try {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    // It waited (the lock was not stale yet), but not for the whole bound.
    expect(performance.now() - started).toBeGreaterThan(500);
  } finally {
    await t.close();
  }
}, 60_000);
