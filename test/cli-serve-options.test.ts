import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryArgs } from './harness/entry.js';

// Found by review: `tollgate --server URL serve` ignored --server and started a server on this machine (on the local
// data dir), while the operator meant the one named. A parameter is never silently ignored: serve refuses the options
// that only the commands talking to a running server read. Run as a process: a server wrongly started keeps it alive.
describe('serve and the options for a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-serve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> {
    const env: Record<string, string | undefined> = { ...process.env, TOLLGATE_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'TOLLGATE_URL', 'TOLLGATE_ADMIN_KEY', 'TOLLGATE_CONFIG']) delete env[name];
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [...entryArgs('src/cli/run.ts'), ...args], { env, timeout: 20_000 }, (err, _out, stderr) => {
        resolve({ code: child.exitCode, stderr, killed: !!(err as { killed?: boolean } | null)?.killed });
      });
    });
  }

  it('refuses --server and --admin-key, starting nothing', async () => {
    for (const args of [
      ['--server', 'http://127.0.0.1:9', 'serve'],
      ['--admin-key', 'sk-tg-admin-x', 'serve'],
    ]) {
      const r = await run(...args);
      expect(r.killed, args.join(' ')).toBe(false);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/serve starts a server on this machine; --(server|admin-key) is for the commands that talk to a running one/);
      expect(r.stderr).not.toContain('sk-tg-admin-x');
    }
  }, 60_000);
});
