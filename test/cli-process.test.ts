import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../src/cli/backend.js';
import { startChildServer } from './harness/child-server.js';
import { entryArgs } from './harness/entry.js';

// The CLI as the process `npx tollgate` is, where what is wrong is of the process itself: its exit, its pipes.

/**
 * The CLI run as a process, its standard output read through a pipe as `tollgate … | jq` reads it: a shell's pipe
 * (64 KiB), not the socket pair node's spawn makes, whose buffer took the whole output at once and hid the bug.
 */
function runProcess(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const pipeline = '"$@" | cat; exit "$PIPESTATUS"'; // the CLI's exit code, not cat's
    const child = spawn('bash', ['-c', pipeline, 'bash', process.execPath, ...entryArgs('src/cli/run.ts'), ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', TOLLGATE_URL: '', TOLLGATE_ADMIN_KEY: '', DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('the CLI process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-process-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Found by review: `tollgate --json keys list | wc -c` gave 65536 of 139681 bytes, and exit code 0: the process
  // exited as soon as the command returned, before a pipe had taken what was still queued for it.
  it('writes all of a long output into a pipe before it exits', async () => {
    const b = await openBackend({}, { TOLLGATE_DATA_DIR: dir, LOG_LEVEL: 'silent' });
    try {
      const projects = (await b.call('GET', '/v1/organization/projects')).body as { data: Array<{ id: string }> };
      for (let i = 0; i < 150; i++) {
        const res = await b.call('POST', `/v1/organization/projects/${projects.data[0].id}/api_keys`, { name: `${'k'.repeat(200)}${i}` });
        expect(res.status).toBe(200);
      }
    } finally {
      await b.close();
    }
    const r = await runProcess({ TOLLGATE_DATA_DIR: dir }, '--json', 'keys', 'list');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(128 * 1024);
    expect(JSON.parse(r.out).data).toHaveLength(150);
  }, 120_000);

  // Found by review: a time without a zone was read in the machine's time zone (V8's Date.parse); the CLI reads it as
  // UTC (cli/when.ts), shown here in a process whose zone is not UTC.
  it('reads a time without a zone as UTC whatever the machine\'s time zone', async () => {
    // A year ahead of whatever today is (the suite runs with the clock moved ten years too).
    const y = new Date().getUTCFullYear() + 5;
    const r = await runProcess({ TOLLGATE_DATA_DIR: dir, TZ: 'America/New_York' }, '--json', 'keys', 'create', '--name', 'zoned', '--expires', `${y}-01-02T03:04`);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).expires_at).toBe(Date.UTC(y, 0, 2, 3, 4) / 1000);
  }, 120_000);

  // Found by review: run.ts kept the process for `serve` only when argv[2] was 'serve', so `tollgate --json serve`
  // exited 0 at once, no server started.
  it('serves when a global option comes before serve', async () => {
    const server = await startChildServer({ TOLLGATE_DATA_DIR: mkdtempSync(join(dir, 'serve-')) }, 120_000, [...entryArgs('src/cli/run.ts'), '--json', 'serve']);
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 150_000);
});
