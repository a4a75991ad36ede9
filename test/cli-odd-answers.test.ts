import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

// Found by review: a server (or whatever answers at --server) that answers 200 with an empty body, or a list without
// its `data`, made the CLI print JavaScript's own errors (`Cannot read properties of null (reading 'data')`,
// `undefined is not iterable`); one that kept answering has_more with the same cursor made a list command ask for the
// same page forever. Each is now told as the server answering unexpectedly, and a cursor given twice stops the list.

describe('a server that answers unexpectedly', () => {
  let server: Server;
  let url: string;
  let answer: (path: string) => string = () => '';
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer(req.url ?? ''));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  async function cli(...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', '--server', url, '--admin-key', 'sk-tg-admin-x', ...args], {
      env: { LOG_LEVEL: 'silent' },
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  }

  it('tells an empty body, or JSON that is not the answer asked for, in words', async () => {
    const cases: Array<[string, (path: string) => string, string[]]> = [
      ['an empty body', () => '', ['projects', 'list']],
      ['an empty body', () => '', ['projects', 'create', 'x']],
      ['an empty body', () => '', ['audit']],
      ['JSON that is not an object', () => '[]', ['admin-keys', 'list']],
      ['JSON that is not an object', () => 'null', ['keys', 'show', 'key_x', '--project', 'proj_x']],
      ['a list without its data', () => '{"object":"list"}', ['projects', 'list']],
      ['a list without its data', () => '{"object":"list"}', ['audit']],
      ['a list without its data', () => '{"object":"list","data":{}}', ['providers', 'credentials', 'add', 'openai-main', '--value', 'x']],
      ['a list without its data', () => '{"object":"page"}', ['usage']],
      ['a bucket without its results', () => '{"object":"page","data":[{"start_time":0}]}', ['usage']],
    ];
    for (const [what, respond, args] of cases) {
      answer = respond;
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(new RegExp(`^error: the server answered GET|POST /v1/\\S+ unexpectedly \\(${what}\\)`.replace('GET|POST', '(GET|POST)')));
      expect(r.err, args.join(' ')).not.toMatch(/Cannot read|not iterable|undefined|TypeError/);
    }
  });

  it('stops a list whose cursor does not move on, rather than ask for the same page forever', async () => {
    const cases: Array<[(path: string) => string, string[]]> = [
      [() => '{"object":"list","data":[{"id":"proj_a","name":"a"}],"has_more":true,"last_id":"proj_a"}', ['projects', 'list']],
      [() => '{"object":"list","data":[],"has_more":true,"last_id":null}', ['admin-keys', 'list']],
      [(p) => `{"object":"list","data":[],"has_more":true,"last_id":"${p.includes('after=b') ? 'a' : 'b'}"}`, ['keys', 'list', '--project', 'proj_x']],
      [() => '{"object":"list","data":[],"has_more":true,"last_id":"prov_a"}', ['providers', 'credentials', 'add', 'openai-main', '--value', 'x']],
      [() => '{"object":"page","data":[],"has_more":true,"next_page":"p1"}', ['usage']],
    ];
    for (const [respond, args] of cases) {
      answer = respond;
      requests = 0;
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/the server answered GET \/v1\/\S+ unexpectedly \(has_more, but a cursor that does not move on\)/);
      expect(requests, args.join(' ')).toBeLessThan(5);
    }
  });
});
