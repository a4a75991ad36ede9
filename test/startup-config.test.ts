import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryArgs } from './harness/entry.js';

describe('start-up configuration errors', () => {
  it('a bad LOG_LEVEL gets the readable configuration error, not a stack trace from the logger', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cfg-'));
    try {
      const r = spawnSync(process.execPath, entryArgs('src/main.ts'), {
        env: { ...process.env, LOG_LEVEL: 'verbose', PORT: '0', TOLLGATE_DATA_DIR: dataDir },
        encoding: 'utf8',
        // A correctness bound, not a speed test: starting tsx took 20 s on this 2-core machine at load 15.
        timeout: 90_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('Invalid configuration');
      expect(r.stderr).toMatch(/LOG_LEVEL/);
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /); // no stack frames
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
