import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { generateSecret } from '../src/core/key-format.js';

// Found by review: the CLI's admin calls over --server had no timeout of their own: a server that took the connection
// and never answered held the command for undici's 300 s, then `fetch failed`. Now a call that has no whole answer in
// TOLLGATE_CLI_TIMEOUT_MS (30 s by default; scan's look-up and report too) is given up, in words.

describe('a server that never answers', () => {
  let silent: Server;
  let url: string;
  let dir: string;
  const held: ServerResponse[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-timeouts-'));
    // /v1/organization/projects: headers, then a body that never ends; anything else: nothing at all.
    silent = createServer((req, res) => {
      held.push(res);
      if (req.url?.startsWith('/v1/organization/projects')) res.writeHead(200, { 'content-type': 'application/json' }).write('{"object":');
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(env: Record<string, string>, ...args: string[]) {
    let out = '';
    let err = '';
    const started = performance.now();
    const code = await runCli(['node', 'tollgate', ...args], { env: { LOG_LEVEL: 'silent', ...env }, out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err, ms: performance.now() - started };
  }

  it('gives up an admin call after TOLLGATE_CLI_TIMEOUT_MS, saying so', async () => {
    for (const args of [['admin-keys', 'list'], ['projects', 'list'], ['projects', 'create', 'x']]) {
      const r = await cli({ TOLLGATE_CLI_TIMEOUT_MS: '300' }, '--server', url, '--admin-key', 'sk-tg-admin-x', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toContain(`error: the server at ${url} did not answer in 0.3 s (TOLLGATE_CLI_TIMEOUT_MS)`);
      expect(r.ms).toBeLessThan(10_000);
    }
  });

  it('gives up scan\'s look-up likewise', async () => {
    writeFileSync(join(dir, 'leak.txt'), `KEY=${generateSecret('project', randomBytes)}\n`);
    const r = await cli({ TOLLGATE_CLI_TIMEOUT_MS: '300' }, '--server', url, '--admin-key', 'sk-tg-admin-x', 'scan', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/could not check them with .*did not answer in 0\.3 s \(TOLLGATE_CLI_TIMEOUT_MS\)/);
  });

  it('refuses a TOLLGATE_CLI_TIMEOUT_MS that is not a whole number of milliseconds', async () => {
    for (const value of ['0', '-1', 'abc', '1.5', '30s', '2147483648']) {
      const r = await cli({ TOLLGATE_CLI_TIMEOUT_MS: value }, '--server', url, '--admin-key', 'sk-tg-admin-x', 'projects', 'list');
      expect(r.code, value).toBe(1);
      expect(r.err, value).toContain(`TOLLGATE_CLI_TIMEOUT_MS expects a whole number of milliseconds from 1 to 2147483647, got '${value}'`);
    }
  });
});
