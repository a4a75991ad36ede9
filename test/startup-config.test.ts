import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryArgs } from './harness/entry.js';

describe('start-up configuration errors', () => {
  it('a bad LOG_LEVEL or OPENAI_BASE_URL gets the readable configuration error, not a stack trace, never the URL', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cfg-'));
    try {
      const r = spawnSync(process.execPath, entryArgs('src/main.ts'), {
        env: { ...process.env, LOG_LEVEL: 'verbose', PORT: '0', TOLLGATE_DATA_DIR: dataDir, OPENAI_API_KEY: 'sk-o', OPENAI_BASE_URL: 'https://user:sk-in-url-secret@api.example.com/v1' },
        encoding: 'utf8',
        // A correctness bound, not a speed test: starting tsx took 20 s on this 2-core machine at load 15.
        timeout: 90_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('Invalid configuration');
      expect(r.stderr).toMatch(/LOG_LEVEL/);
      expect(r.stderr).toMatch(/OPENAI_BASE_URL: must not hold a user or password/);
      expect(r.stderr + r.stdout).not.toContain('sk-in-url-secret');
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /); // no stack frames
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a port in use gets a readable message naming the port and PORT, exit 1, not a log line with a stack; a misspelt setting is warned of', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cfg-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      // Asynchronous: the port's holder is in this process and must keep accepting while the child tries it.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, entryArgs('src/main.ts'), { env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), TOLLGATE_DATA_DIR: dataDir, TOLLGATE_BUDGET_FAILUR: 'open' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        const timer = setTimeout(() => child.kill(), 90_000);
        child.on('error', reject);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`port ${port} is already in use on 127.0.0.1`);
      expect(r.stderr).toContain('set PORT');
      // Warned of before listening (the log is standard output), naming the setting it resembles.
      expect(r.stdout).toContain('TOLLGATE_BUDGET_FAILUR is not a Tollgate setting and is ignored: did you mean TOLLGATE_BUDGET_FAILURE?');
      expect(r.stderr + r.stdout).not.toMatch(/\n\s+at |\\n\s+at /); // no stack frames, raw or inside a JSON log line
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
