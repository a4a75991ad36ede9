import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

// Found by review: `--server http://user:pass@host` printed the password back in fetch's refusal; a proxy's 502 page
// gave a bare JSON parser error; and `--admin-key` without `--server` was ignored, the command acting on the local data
// dir as though the key meant nothing. Each is now refused, or told, in words that print no secret.

describe('CLI against a server', () => {
  let parent: string;
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'tollgate-cli-remote-'));
    // A proxy in front of a server that is down: an HTML error page.
    proxy = createServer((req, res) => {
      const status = req.url?.includes('/projects') ? 502 : 200;
      res.writeHead(status, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy.close(r));
    rmSync(parent, { recursive: true, force: true });
  });

  async function cli(env: Record<string, string | undefined>, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], { env: { LOG_LEVEL: 'silent', ...env }, out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  it('refuses a server URL holding a user or password, printing neither', async () => {
    const url = 'http://ops:hunter2pass@127.0.0.1:1';
    for (const [env, args] of [
      [{}, ['--server', url, '--admin-key', 'sk-tg-admin-x', 'projects', 'list']],
      [{ TOLLGATE_URL: url, TOLLGATE_ADMIN_KEY: 'sk-tg-admin-x' }, ['keys', 'list']],
      [{ TOLLGATE_URL: url, TOLLGATE_ADMIN_KEY: 'sk-tg-admin-x' }, ['usage']],
      [{}, ['--server', 'http://ops:hunter2 pass@127.0.0.1:1', '--admin-key', 'sk-tg-admin-x', 'projects', 'list']],
      [{}, ['--server', url, '--admin-key', 'sk-tg-admin-x', 'scan', parent]],
    ] as Array<[Record<string, string>, string[]]>) {
      const r = await cli(env, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/user name or password/);
      expect(`${r.out}${r.err}`).not.toContain('hunter2');
      expect(`${r.out}${r.err}`).not.toContain('ops:');
    }
  });

  it('says the server answered with non-JSON content, and its status', async () => {
    const r = await cli({}, '--server', proxyUrl, '--admin-key', 'sk-tg-admin-x', 'projects', 'list');
    expect(r.code).toBe(1);
    expect(r.err).toContain('the server answered 502 with non-JSON content (text/html)');
    const ok = await cli({}, '--server', proxyUrl, '--admin-key', 'sk-tg-admin-x', 'admin-keys', 'list');
    expect(ok.code).toBe(1);
    expect(ok.err).toContain('the server answered 200 with non-JSON content (text/html)');
  });

  it('names the server and the cause when it cannot be reached, never the admin key', async () => {
    // A port nothing listens on: taken, then freed.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const adminKey = 'sk-tg-admin-unreachable-test-key-0123456789';
    const tlsToPlain = proxyUrl.replace('http://', 'https://');
    for (const [server, args, cause] of [
      [`http://127.0.0.1:${port}`, ['projects', 'list'], /connection refused \(ECONNREFUSED\)/],
      [`http://127.0.0.1:${port}/`, ['usage'], /connection refused \(ECONNREFUSED\)/],
      [`http://127.0.0.1:${port}`, ['keys', 'create', '--name', 'k'], /connection refused \(ECONNREFUSED\)/],
      ['http://tollgate-cli-test.invalid', ['audit'], /host not found \((ENOTFOUND|EAI_AGAIN)\)/],
      [tlsToPlain, ['projects', 'list'], /TLS failed \(\w+\)/],
    ] as Array<[string, string[], RegExp]>) {
      const r = await cli({}, '--server', server, '--admin-key', adminKey, ...args);
      expect(r.code, server).toBe(1);
      expect(r.err, server).toContain(`could not reach the server at ${server.replace(/\/$/, '')}: `);
      expect(r.err, server).toMatch(cause);
      expect(`${r.out}${r.err}`).not.toContain(adminKey);
    }
  });

  it('refuses --admin-key without --server or TOLLGATE_URL, touching no local data dir', async () => {
    const dataDir = join(parent, 'untouched');
    for (const args of [
      ['--admin-key', 'sk-tg-admin-x', 'projects', 'list'],
      ['--admin-key', 'sk-tg-admin-x', 'usage'],
      ['--admin-key', 'sk-tg-admin-x', 'users', 'create-owner', '--email', 'o@example.com', '--password-stdin'],
      ['--admin-key', 'sk-tg-admin-x', 'scan', parent],
    ]) {
      const r = await cli({ TOLLGATE_DATA_DIR: dataDir }, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/--admin-key is for a server: give --server <url> \(or TOLLGATE_URL\)/);
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});
