import { createServer } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback, testProviderConfig } from '../../test/harness/provider-config.js';
import { AbortHandle } from '../core/abort-handle.js';
import { UpstreamFailure } from '../core/upstream.js';
import { type CredentialFailure, type CredentialSetAside, HttpUpstream } from './http-upstream.js';

// A provider with several keys (issue 20 §3): the fake answers by the key it gets. sk-busy is rate limited (429,
// retry-after 30 s), sk-bad refused (401), sk-down failing (503), sk-ok answers.
const seen: Array<{ key: string; body: string }> = [];
const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const key = String(req.headers['x-api-key'] ?? req.headers.authorization).replace('Bearer ', '');
  seen.push({ key, body: Buffer.concat(chunks).toString() });
  const answer = (status: number, headers: Record<string, string> = {}, message?: string) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(message ? { key, status, error: { message } } : { key, status }));
  };
  if (key === 'sk-busy') return answer(429, { 'retry-after': '30' });
  // An Anthropic key whose organization has 30,000 input tokens a minute: a request over it is refused whatever the key.
  if (key.startsWith('sk-itpm')) {
    const message = 'This request would exceed the rate limit for your organization (0dccdde6) of 30,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.';
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60', 'anthropic-ratelimit-input-tokens-limit': '30000' });
    return res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message } }));
  }
  if (key === 'sk-slow-busy') return setTimeout(() => answer(429, { 'retry-after': '30' }), 150);
  if (key === 'sk-bad' || key === 'sk-bad-too') return answer(401);
  if (key === 'sk-down') return answer(503);
  if (key === 'sk-error') return answer(500);
  // A gateway in front of the provider that gave up waiting: the provider may be generating the answer still.
  if (key === 'sk-gateway-timeout') return answer(504);
  // A project key of proj_A, sent for another provider project: OpenAI's 401 mismatched_project.
  if (key === 'sk-proj-a' && req.headers['openai-project'] !== undefined && req.headers['openai-project'] !== 'proj_A') {
    res.writeHead(401, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: { message: 'OpenAI-Project header should match project for API key', type: 'invalid_request_error', param: null, code: 'mismatched_project' } }));
  }
  // A restricted key without the Files scopes (OpenAI's answer to one).
  if (key === 'sk-no-files' && req.url?.startsWith('/v1/files')) return answer(401, {}, 'You have insufficient permissions for this operation. Missing scopes: api.files.read.');
  return answer(200);
});
let base = '';
beforeAll(async () => {
  base = `${await listenOnLoopback(server)}/v1`;
});
afterAll(() => server.close());

function pooled(keys: Array<[string, string, number?]>, o: { maxAttempts?: number; baseUrl?: string } = {}) {
  let now = 1_000_000;
  const failures: CredentialFailure[] = [];
  const setAsides: CredentialSetAside[] = [];
  const cfg = testProviderConfig('pool', o.baseUrl ?? base, keys, { maxAttempts: o.maxAttempts ?? keys.length });
  // random() = 0: the first usable credential in the list is picked.
  const u = new HttpUpstream(cfg, { clock: () => now, random: () => 0, onCredentialFailed: (f) => failures.push(f), onCredentialSetAside: (a) => setAsides.push(a) });
  const send = async (signal = new AbortHandle(), abandoned?: () => boolean) => {
    const res = await u.send({ method: 'POST', path: '/chat/completions', search: '', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"model":"m"}'), signal, abandoned });
    return { status: res.statusCode, body: JSON.parse((await res.body.readAll()).toString()) as { key: string } };
  };
  const get = async (path: string) => {
    const res = await u.send({ method: 'GET', path, search: '', headers: {}, body: null, signal: new AbortHandle() });
    return { status: res.statusCode, body: JSON.parse((await res.body.readAll()).toString()) as { key: string } };
  };
  return { u, send, get, failures, setAsides, advance: (ms: number) => (now += ms) };
}

describe('a pool of provider credentials', () => {
  it('moves on from a rate-limited key, cools it down for as long as the provider said, then uses it again', async () => {
    const p = pooled([
      ['KEY_BUSY', 'sk-busy'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    expect(await p.send()).toEqual({ status: 200, body: { key: 'sk-ok', status: 200 } });
    expect(seen.map((s) => s.key)).toEqual(['sk-busy', 'sk-ok']);
    // The same body both times.
    expect(seen.map((s) => s.body)).toEqual(['{"model":"m"}', '{"model":"m"}']);
    seen.length = 0;
    await p.send();
    expect(seen.map((s) => s.key)).toEqual(['sk-ok']);
    p.advance(30_000);
    seen.length = 0;
    await p.send();
    expect(seen.map((s) => s.key)).toEqual(['sk-busy', 'sk-ok']);
    await p.u.close();
  });

  it('closed while a request is under way (its provider changed), still lets that request move on to the next key', async () => {
    const p = pooled([
      ['KEY_SLOW_BUSY', 'sk-slow-busy'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    const sent = p.send();
    await new Promise((r) => setTimeout(r, 50));
    const closed = p.u.close();
    expect(await sent).toEqual({ status: 200, body: { key: 'sk-ok', status: 200 } });
    expect(seen.map((s) => s.key)).toEqual(['sk-slow-busy', 'sk-ok']);
    await closed;
  });

  it('disables a refused key, reports it once, and never sends it again', async () => {
    const p = pooled([
      ['KEY_BAD', 'sk-bad'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    expect((await p.send()).status).toBe(200);
    expect((await p.send()).status).toBe(200);
    p.advance(3_600_000);
    expect((await p.send()).status).toBe(200);
    expect(seen.map((s) => s.key)).toEqual(['sk-bad', 'sk-ok', 'sk-ok', 'sk-ok']);
    expect(p.failures).toEqual([{ provider: 'pool', credential: 'KEY_BAD', status: 401 }]);
    await p.u.close();
  });

  it('disables no key when every key tried is refused: the request may be what the provider refuses to any key', async () => {
    const p = pooled([
      ['KEY_BAD', 'sk-bad'],
      ['KEY_BAD_TOO', 'sk-bad-too'],
    ]);
    seen.length = 0;
    expect((await p.send()).status).toBe(401);
    expect((await p.send()).status).toBe(401);
    expect(seen.map((s) => s.key)).toEqual(['sk-bad', 'sk-bad-too', 'sk-bad', 'sk-bad-too']);
    expect(p.failures).toEqual([]);
    await p.u.close();
  });

  it('sets a key refused for want of a scope aside for that endpoint (any object of it), where another key served it', async () => {
    const p = pooled([
      ['KEY_NO_FILES', 'sk-no-files'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    expect(await p.get('/files/file-1')).toMatchObject({ status: 200, body: { key: 'sk-ok' } });
    expect(await p.get('/files/file-2')).toMatchObject({ status: 200, body: { key: 'sk-ok' } });
    expect(await p.send()).toMatchObject({ status: 200, body: { key: 'sk-no-files' } });
    expect(seen.map((s) => s.key)).toEqual(['sk-no-files', 'sk-ok', 'sk-ok', 'sk-no-files']);
    expect(p.failures).toEqual([]);
    expect(p.setAsides).toEqual([{ provider: 'pool', credential: 'KEY_NO_FILES', status: 401, scope: 'GET /files/{file_id}', forMs: 3_600_000 }]);
    expect(p.u.credentialStats().find((c) => c.credential === 'KEY_NO_FILES')).toMatchObject({ usable: true, setAsides: 1 });
    await p.u.close();
  });

  it('moves on from a 5xx; when every key fails, the last answer is the one given', async () => {
    const p = pooled([
      ['KEY_DOWN', 'sk-down'],
      ['KEY_BUSY', 'sk-busy'],
    ]);
    seen.length = 0;
    expect(await p.send()).toEqual({ status: 429, body: { key: 'sk-busy', status: 429 } });
    expect(seen.map((s) => s.key)).toEqual(['sk-down', 'sk-busy']);
    // sk-busy cools down and sk-down is failing: the next request tries sk-down alone, no further key is usable.
    seen.length = 0;
    expect((await p.send()).status).toBe(503);
    expect(seen.map((s) => s.key)).toEqual(['sk-down']);
    await p.u.close();
  });

  it('does not move on from a 500: the provider may have run the request, and a POST must not run twice', async () => {
    const p = pooled([
      ['KEY_ERROR', 'sk-error'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    expect((await p.send()).status).toBe(500);
    expect(seen.map((s) => s.key)).toEqual(['sk-error']);
    await p.u.close();
  });

  it('does not move on from a 504 either: a gateway before the provider gave up, the provider may still be running it', async () => {
    const p = pooled([
      ['KEY_TIMEOUT', 'sk-gateway-timeout'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    expect((await p.send()).status).toBe(504);
    expect(seen.map((s) => s.key)).toEqual(['sk-gateway-timeout']);
    await p.u.close();
  });

  it('tries no other key once nobody waits for the answer (its client gone): that would start a generation nobody reads', async () => {
    const p = pooled([
      ['KEY_DOWN', 'sk-down'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    let gone = false;
    const answer = p.send(new AbortHandle(), () => gone);
    gone = true;
    expect((await answer).status).toBe(503);
    expect(seen.map((s) => s.key)).toEqual(['sk-down']);
    // While someone waits, it moves on as before.
    seen.length = 0;
    expect((await p.send(new AbortHandle(), () => false)).status).toBe(200);
    expect(seen.map((s) => s.key)).toEqual(['sk-down', 'sk-ok']);
    await p.u.close();
  });

  it("sets a key refused for another provider project aside for that project only, never disabling it", async () => {
    const failures: CredentialFailure[] = [];
    const setAsides: CredentialSetAside[] = [];
    const cfg = testProviderConfig('pool', base, [['PROJ_KEY', 'sk-proj-a', 1000], ['USER_KEY', 'sk-ok', 1]], { projects: { team_b: 'proj_B', team_a: 'proj_A' } });
    const u = new HttpUpstream(cfg, { clock: () => 1_000_000, random: () => 0, onCredentialFailed: (f) => failures.push(f), onCredentialSetAside: (a) => setAsides.push(a) });
    const send = async (project: string | null) => {
      const res = await u.send({ method: 'POST', path: '/chat/completions', search: '', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"model":"m"}'), project, signal: new AbortHandle() });
      return { status: res.statusCode, key: (JSON.parse((await res.body.readAll()).toString()) as { key?: string }).key };
    };
    seen.length = 0;
    expect(await send('team_b')).toEqual({ status: 200, key: 'sk-ok' });
    expect(failures).toEqual([]);
    expect(setAsides).toMatchObject([{ credential: 'PROJ_KEY', status: 401, scope: '* proj_B' }]);
    // Still the key of its own project, and of requests for no project.
    expect(await send('team_a')).toEqual({ status: 200, key: 'sk-proj-a' });
    expect(await send(null)).toEqual({ status: 200, key: 'sk-proj-a' });
    // And set aside for team_b: its next request goes to the other key at once.
    seen.length = 0;
    expect(await send('team_b')).toEqual({ status: 200, key: 'sk-ok' });
    expect(seen.map((x) => x.key)).toEqual(['sk-ok']);
    await u.close();
  });

  it('tries no more than max_attempts, and not after the request was aborted', async () => {
    const one = pooled(
      [
        ['KEY_BUSY', 'sk-busy'],
        ['KEY_OK', 'sk-ok'],
      ],
      { maxAttempts: 1 },
    );
    seen.length = 0;
    expect((await one.send()).status).toBe(429);
    expect(seen).toHaveLength(1);
    await one.u.close();
    const aborted = pooled([
      ['KEY_DOWN', 'sk-down'],
      ['KEY_OK', 'sk-ok'],
    ]);
    const signal = new AbortHandle();
    signal.abort();
    await expect(aborted.send(signal)).rejects.toBeInstanceOf(UpstreamFailure);
    await aborted.u.close();
  });

  it('moves on when the provider cannot be reached, and reports it unreachable when none can be', async () => {
    const p = pooled(
      [
        ['KEY_A', 'sk-ok'],
        ['KEY_B', 'sk-ok'],
      ],
      { baseUrl: 'http://127.0.0.1:9/v1' },
    );
    const err = await p.send().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).kind).toBe('unreachable');
    expect((err as UpstreamFailure).notSent).toBe(true);
    await p.u.close();
  });
});

/** A 1-bit grayscale PNG of `w`×`h` pixels, a few lines drawn: a few hundred bytes that Claude reads as w×h/750 tokens. */
function onePixelDeepPng(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth 1, colour type 0 (grayscale)
  const row = Math.ceil(w / 8) + 1;
  const raw = Buffer.alloc(row * h);
  for (let y = 0; y < h; y += 64) raw.fill(0xff, y * row + 1, (y + 1) * row);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

describe("a 429 a request with images brought on itself (found by an outside review)", () => {
  it('cools no key and tries no other: its images may alone be over the input limit, whatever its bytes', async () => {
    // 20 images of 1092×1092 (about 1,590 tokens each to Claude: 31,800 in all) and some text, in a body far smaller
    // than the 30,000 input tokens the 429 names: its bytes bounded it below the limit, and both keys were cooled.
    const image = onePixelDeepPng(1092, 1092).toString('base64');
    const content = [
      { type: 'text', text: 'Describe each scan. '.repeat(500) },
      ...Array.from({ length: 20 }, () => ({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } })),
    ];
    const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content }] }));
    expect(body.length).toBeLessThan(30_000);
    const now = 1_000_000;
    const cfg = testProviderConfig('claude', base, [
      ['KEY_A', 'sk-itpm-a'],
      ['KEY_B', 'sk-itpm-b'],
    ]);
    const u = new HttpUpstream({ ...cfg, kind: 'anthropic', auth: 'x-api-key', apiVersion: '2023-06-01' }, { clock: () => now, random: () => 0 });
    seen.length = 0;
    const res = await u.send({ method: 'POST', path: '/messages', search: '', headers: { 'content-type': 'application/json' }, body, signal: new AbortHandle(), model: 'claude-sonnet-4-5' });
    expect(res.statusCode).toBe(429);
    expect(res.rateLimit).toBe('request');
    expect(seen.map((s) => s.key)).toEqual(['sk-itpm-a']);
    expect(u.credentialStats().map((c) => [c.credential, c.coolDowns, c.usable])).toEqual([
      ['KEY_A', 0, true],
      ['KEY_B', 0, true],
    ]);
    await u.close();
  });
});

describe('a request pinned to a credential (the account holding the objects it names)', () => {
  const pinnedGet = (u: HttpUpstream, credential: string) =>
    u.send({ method: 'GET', path: '/files/file-1', search: '', headers: {}, body: null, signal: new AbortHandle(), credential });

  it('goes to that credential alone, whatever its cool-down, and is answered as it is there', async () => {
    const p = pooled([
      ['KEY_BUSY', 'sk-busy'],
      ['KEY_OK', 'sk-ok'],
    ]);
    seen.length = 0;
    // A pinned GET's 429 is not failed over, and cools KEY_BUSY down for that request: the next still goes to it.
    for (let i = 0; i < 2; i++) {
      const res = await pinnedGet(p.u, 'KEY_BUSY');
      expect(res.statusCode).toBe(429);
      expect(res.credential).toBe('KEY_BUSY');
    }
    expect(seen.splice(0).map((s) => s.key)).toEqual(['sk-busy', 'sk-busy']);
    expect(p.u.credentialStats().find((c) => c.credential === 'KEY_BUSY')?.coolDowns).toBe(2);
    const ok = await pinnedGet(p.u, 'KEY_OK');
    expect(ok.credential).toBe('KEY_OK');
    await p.u.close();
  });

  // A credential the provider no longer holds pins nothing: an operator who replaced a key with a new one of the same
  // account (another variable's name, another runtime credential) kept every object reachable; where the account
  // differs, the provider's own 404 says so.
  it('is sent by weight when the provider no longer has that credential (removed), and refused 503 while it is disabled', async () => {
    const p = pooled([
      ['KEY_BAD', 'sk-bad'],
      ['KEY_OK', 'sk-ok'],
    ]);
    // The provider refuses KEY_BAD where KEY_OK is let through: disabled.
    await p.send();
    seen.length = 0;
    await expect(pinnedGet(p.u, 'KEY_BAD')).rejects.toMatchObject({ code: 'upstream_unavailable', status: 503 });
    expect(seen).toEqual([]);
    const gone = await pinnedGet(p.u, 'KEY_GONE');
    expect([gone.statusCode, gone.credential]).toEqual([200, 'KEY_OK']);
    expect(seen.splice(0).map((s) => s.key)).toEqual(['sk-ok']);
    await p.u.close();
    // A provider with one key: its key now, whatever the one the object was made with was named.
    const sole = new HttpUpstream(testProviderConfig('sole', base, [['KEY_NEW', 'sk-ok']]), { clock: () => 0 });
    expect((await pinnedGet(sole, 'KEY_OLD')).statusCode).toBe(200);
    expect((await pinnedGet(sole, 'KEY_NEW')).statusCode).toBe(200);
    await sole.close();
  });
});
