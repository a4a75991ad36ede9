import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { generateSecret } from '../src/core/key-format.js';
import { lookupSecrets, redirectRefusal, reportExposed } from '../src/scanner/report.js';

// Found by review: the CLI over --server, and the scanner's look-up and report, followed redirects (fetch's default):
// a 307 sent the POST body (a provider key given with --value-stdin, the keys a scan found) to wherever it pointed,
// another origin included, and the command reported success. Now a redirect is refused, naming where it pointed.

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

async function listen(handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('a server that answers with a redirect', () => {
  const seen: Seen[] = [];
  let elsewhere: { server: Server; url: string };
  let redirector: { server: Server; url: string };
  const ADMIN = 'sk-tg-admin-redirected';
  let status = 307;
  beforeAll(async () => {
    // Answers as Tollgate would, and notes what reached it.
    elsewhere = await listen((req, body, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      const answer = req.url?.includes('/credentials')
        ? { object: 'provider.credential', id: 'cred_x', redacted_value: 'sk-…abcd', weight: 1, status: 'active' }
        : req.url?.includes('/lookup') || req.url?.includes('/report_exposed')
          ? { object: 'list', data: [] }
          : { object: 'list', data: [], has_more: false };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    redirector = await listen((req, _body, res) => {
      res.writeHead(status, { location: `${elsewhere.url}${req.url}` }).end();
    });
  });
  afterAll(async () => {
    await Promise.all([elsewhere, redirector].map(({ server }) => new Promise((r) => server.close(r))));
  });

  async function cli(stdin: string, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], {
      env: { LOG_LEVEL: 'silent' },
      out: (t) => (out += t),
      err: (t) => (err += t),
      readStdin: async () => stdin,
    });
    return { code, out, err };
  }

  it('is refused by the CLI, naming where it points, and nothing is sent there', async () => {
    seen.length = 0;
    const providerKey = `sk-proj-${'p'.repeat(40)}`;
    for (const code of [307, 308, 301, 302, 303]) {
      status = code;
      const add = await cli(`${providerKey}\n`, '--server', redirector.url, '--admin-key', ADMIN, 'providers', 'credentials', 'add', 'prov_x', '--value-stdin');
      expect(add.code, add.out).toBe(1);
      expect(add.err).toContain(`the server answered ${code}, a redirect to ${elsewhere.url}/v1/organization/providers/prov_x/credentials`);
      expect(add.err).toContain(`use ${elsewhere.url} as --server`);
      const list = await cli('', '--server', redirector.url, '--admin-key', ADMIN, 'projects', 'list');
      expect(list.code).toBe(1);
      expect(list.err).toContain(`the server answered ${code}, a redirect to`);
    }
    expect(seen).toEqual([]);
  });

  it('is refused by the scanner\'s look-up and report, and no key found is sent there', async () => {
    seen.length = 0;
    const secret = generateSecret('project', randomBytes);
    for (const code of [307, 308, 301, 302, 303]) {
      status = code;
      await expect(lookupSecrets({ server: redirector.url, adminKey: ADMIN }, [secret])).rejects.toThrow(`answered ${code}, a redirect to ${elsewhere.url}/v1/organization/api_keys/lookup`);
      const reported = await reportExposed({ server: redirector.url, adminKey: ADMIN }, [{ secret, url: 'file:///x' }]);
      expect(reported.answers.size).toBe(0);
      expect(reported.failures.get(secret)).toContain(`answered ${code}, a redirect to ${elsewhere.url}/v1/organization/api_keys/report_exposed`);
      expect(reported.failures.get(secret)).toContain(`use ${elsewhere.url} as --server`);
    }
    expect(seen).toEqual([]);
  });

  it('names a relative location in full, never a user or password it holds', () => {
    const path = '/v1/organization/projects?limit=100';
    expect(redirectRefusal(307, '/tollgate/v1/organization/projects?limit=100', 'http://h:1/v1/organization/projects?limit=100', path)).toContain(
      'a redirect to http://h:1/tollgate/v1/organization/projects?limit=100 (not followed: the request carries the admin key and what it sends); if that is the Tollgate server, use http://h:1/tollgate as --server',
    );
    const withPassword = redirectRefusal(308, 'https://ops:hunter2@h/login', 'http://h/v1/x', '/v1/x');
    expect(withPassword).toContain('a redirect to https://h/login');
    expect(withPassword).toContain('use its URL as --server');
    expect(withPassword).not.toContain('hunter2');
    expect(redirectRefusal(302, null, 'http://h/v1/x', '/v1/x')).toContain('answered 302, a redirect without a Location');
  });
});
