import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { loadServerSecret } from '../src/runtime.js';
import { TSX } from './harness/entry.js';

// The data dir's `secret` (no TOLLGATE_SECRET) signs sessions' CSRF tokens and webhooks and seals runtime providers'
// keys. Found by a durability review: it was created in place (no temp file, no fsync) and read back unchecked, so an
// empty file (a crash between its creation and its write; a CLI reading it while the server's first start was still
// writing it) made '' the server secret, silently.

const dataDir = () => mkdtempSync(join(tmpdir(), 'tollgate-secret-'));
const load = (dir: string) => loadServerSecret(loadConfig({ TOLLGATE_DATA_DIR: dir }));

describe('the server secret file', () => {
  it('is refused empty, saying what to do, rather than used as the secret', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'secret'), '', { mode: 0o600 });
    expect(() => load(dir)).toThrow(/secret.*(empty|shorter than 32)/);
    expect(() => load(dir)).toThrow(/TOLLGATE_SECRET/);
  });

  it('is refused shorter than the 32 characters TOLLGATE_SECRET needs (a write cut short), without quoting it', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'secret'), 'Xq7-partial\n', { mode: 0o600 });
    let message = '';
    try {
      load(dir);
    } catch (err) {
      message = String(err);
    }
    expect(message).toMatch(/shorter than 32/);
    expect(message).not.toContain('Xq7');
    writeFileSync(join(dir, 'secret'), `   ${'a'.repeat(31)}  \n`, { mode: 0o600 });
    expect(() => load(dir)).toThrow(/shorter than 32/);
  });

  it('is taken as written when long enough (an operator may write their own), and made 0600 if others could read it', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'secret'), `${'s'.repeat(32)}\n`);
    chmodSync(join(dir, 'secret'), 0o644);
    expect(load(dir)).toBe('s'.repeat(32));
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
  });

  it('is generated whole, 0600, with no temp file left, and read back the same', () => {
    const dir = dataDir();
    const secret = load(dir);
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(readdirSync(dir)).toEqual(['secret']);
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe(`${secret}\n`);
    expect(load(dir)).toBe(secret);
  });

  it('made by several first starts at once ends as one secret that each of them uses', async () => {
    const dir = dataDir();
    const go = join(dataDir(), 'go');
    const runs = 4;
    // Each process loads the module, says so, then waits for the go file and reads or makes the same fresh dir's secret.
    const script = `
      import { existsSync } from 'node:fs';
      import { readOrCreateServerSecret } from ${JSON.stringify(new URL('../src/infra/server-secret-file.ts', import.meta.url).href)};
      process.stdout.write('ready\\n');
      // Waits in 1 ms sleeps, not a busy loop: six spinning processes on two cores starved those still starting.
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(${JSON.stringify(go)})) Atomics.wait(nap, 0, 0, 1);
      try { process.stdout.write(JSON.stringify({ secret: readOrCreateServerSecret(${JSON.stringify(dir)}) })); }
      catch (err) { process.stdout.write(JSON.stringify({ error: String(err) })); }
    `;
    // tsx itself (entryArgs would give the built server when dist/ is fresh, which then ran instead of the script).
    const tsx = ['--import', TSX];
    let ready = 0;
    let exited = 0;
    const seen: string[] = [];
    const outputs = Array.from({ length: runs }, (_, i) => {
      const child = spawn(process.execPath, [...tsx, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let counted = false;
      child.stdout.on('data', (d) => {
        out += d;
        seen[i] = out;
        if (!counted && out.includes('ready\n')) {
          counted = true;
          ready++;
        }
      });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      return new Promise<string>((resolve) =>
        child.on('exit', (code) => {
          exited++;
          seen[i] = `${out} (exit ${code}; stderr: ${err.slice(0, 500)})`;
          resolve(out.slice(out.indexOf('ready\n') + 'ready\n'.length));
        }),
      );
    });
    // Each says it is ready (a child that died first is told, not waited for until the test's timeout).
    while (ready < runs) {
      if (exited > 0) throw new Error(`a child ended before it was ready: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(go, '');
    const secrets = (await Promise.all(outputs)).map((o) => JSON.parse(o) as { secret?: string; error?: string });
    const stored = readFileSync(join(dir, 'secret'), 'utf8').trim();
    expect(stored).toMatch(/^[\w-]{43}$/);
    expect(secrets).toEqual(Array.from({ length: runs }, () => ({ secret: stored })));
    expect(readdirSync(dir)).toEqual(['secret']);
  }, 120_000);
});
