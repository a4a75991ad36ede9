import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A whole (non-streamed) answer whose first byte comes after the provider's `first_byte_ms` (a long generation sends
// nothing until it is done) was free: the timeout aborted the upstream call, recorded it unbilled and settled its
// reservation to nothing, while the provider, which had the request, generated the answer and billed it (found by a
// review). Now the client is answered 504 at the timeout, as before, and the upstream request goes on to its deadline,
// its answer read whole and billed by its usage; the reservation is held until then.

const ORG = '/v1/organization';
const INPUT = 1200;
const OUTPUT = 3400;
const FIRST_BYTE_MS = 300;
/** When the late upstream answers: after the first-byte timeout, well within total_ms. */
const ANSWER_MS = 1200;
const TOTAL_MS = 4000;

interface Upstream {
  server: Server;
  /** Answers the upstream finished writing, and requests whose connection was closed before it did. */
  finished: number;
  aborted: number;
}

/** How each request goes: by its model (`gpt-late`: answered late with usage; `gpt-breaks`: reset late; `gpt-never`: no answer). */
async function startLate(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), finished: 0, aborted: 0 };
  u.server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string; stream?: boolean };
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) closed = true;
    });
    if (body.model === 'gpt-never' || body.model === 'claude-never') return;
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    if (closed) {
      u.aborted++;
      return;
    }
    if (body.model === 'gpt-breaks') {
      res.destroy();
      return;
    }
    const anthropic = req.url?.endsWith('/messages') === true;
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content: 'done' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
      u.finished++;
      return;
    }
    const answer = anthropic
      ? { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: INPUT, output_tokens: OUTPUT } }
      : {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'done', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT },
        };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
    u.finished++;
  });
  return u;
}

describe('a whole answer later than the first-byte timeout', () => {
  let t: TestServer;
  let up: Upstream;

  beforeAll(async () => {
    up = await startLate();
    const url = `${await listenOnLoopback(up.server)}/v1`;
    const timeouts = { first_byte_ms: FIRST_BYTE_MS, total_ms: TOTAL_MS };
    // No breaker: the failures here, from a handful of keys, must not open it on the tests that follow.
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false },
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false },
      ],
      routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
      // $1,000 per 1M output tokens: the late answer costs $3.412 (3,400 output and 1,200 input tokens).
      pricing: { 'gpt-late': { input: 10, output: 1000 }, 'gpt-breaks': { input: 10, output: 1000 }, 'gpt-never': { input: 10, output: 1000 }, 'gpt-fast': { input: 10, output: 1000 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newKey = async (body: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'late', ...body } })).body as { id: string; value: string };
  const post = (key: string, path: string, body: Record<string, unknown>) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    return fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  };
  const ask = { max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] };
  /** The key's usage events once `atLeast` are written, waiting past the request's deadline (TOTAL_MS) and its read-on (as long again). */
  const eventsWithin = async (keyId: string, atLeast = 1) => {
    for (let i = 0; ; i++) {
      await t.server.gateway.usage.flush();
      const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
      if (rows.length >= atLeast || i === 300) return rows as Array<Record<string, unknown>>;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it.each([
    ['chat completions', '/v1/chat/completions', 'gpt-late', 'openai'],
    ["Anthropic's Messages API", '/v1/messages', 'claude-sonnet-4-5', 'anthropic'],
    ['an OpenAI client calling a Claude model (translated)', '/v1/chat/completions', 'claude-sonnet-4-5', 'openai'],
    ['an Anthropic client calling an OpenAI model (translated)', '/v1/messages', 'gpt-late', 'anthropic'],
  ])('%s: answered 504 at the timeout, then billed by the usage of the answer that came', async (_name, path, model, format) => {
    const key = await newKey();
    const finished = up.finished;
    const started = performance.now();
    const res = await post(key.value, path, { model, ...ask });
    expect(res.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(ANSWER_MS);
    const error = (await res.json()) as { type?: string; error: { type: string; code?: string; message: string } };
    if (format === 'anthropic') expect(error).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
    else expect(error.error).toMatchObject({ code: 'upstream_timeout', type: 'api_error' });
    expect(error.error.message).toMatch(/billed by its usage/);
    const rows = await eventsWithin(key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ billable: 1, outcome: 'timeout', status: 504, error_code: 'upstream_timeout', input_tokens: INPUT, output_tokens: OUTPUT, streamed: 0 });
    expect(Number(rows[0].cost_nanousd)).toBeGreaterThan(0);
    expect(up.finished).toBe(finished + 1);
  });

  it('a hard cap counts it: its reservation is held while the answer is awaited, then settled to its cost', async () => {
    // $10: the late call reserves $4 of output (4,000 tokens at $1,000/M) and costs $3.412.
    const key = await newKey({ spend_limit: { threshold_amount: 1000, interval: 'month' } });
    const asking = (max_tokens: number) => post(key.value, '/v1/chat/completions', { model: 'gpt-fast', max_tokens, messages: [{ role: 'user', content: 'hi' }] });
    expect((await post(key.value, '/v1/chat/completions', { model: 'gpt-late', ...ask })).status).toBe(504);
    // While the answer is awaited: $4 held, so $6.30 more does not fit.
    const held = await asking(6_300);
    expect(held.status).toBe(429);
    expect(((await held.json()) as { error: { code: string } }).error.code).toBe('api_key_spend_limit_exceeded');
    const late = (await eventsWithin(key.id, 2)).find((r) => r.model === 'gpt-late') as Record<string, unknown>;
    expect(late).toMatchObject({ billable: 1, output_tokens: OUTPUT });
    expect(Number(late.cost_nanousd)).toBe(INPUT * 10_000 + OUTPUT * 1_000_000);
    // Settled to its cost ($3.412): $6.70 more does not fit, $6.30 does.
    expect((await asking(6_700)).status).toBe(429);
    expect((await asking(6_300)).status).not.toBe(429);
  });

  it('an upstream that fails after the timeout is billed as a hang-up would be: nothing', async () => {
    const key = await newKey();
    const res = await post(key.value, '/v1/chat/completions', { model: 'gpt-breaks', ...ask });
    expect(res.status).toBe(504);
    const rows = await eventsWithin(key.id);
    expect(rows[0]).toMatchObject({ billable: 0, outcome: 'timeout', status: 504, error_code: 'upstream_timeout', output_tokens: 0 });
    expect(Number(rows[0].cost_nanousd)).toBe(0);
  });

  // The deadline is the gateway's own cut: the provider, which has the request, goes on generating and bills it. Billed
  // nothing, a generation longer than total_ms was free (found by a review); it is read on for total_ms again, and one
  // whose answer never comes is billed what its hard cap reserved: its input counted, its max_tokens at the output rate
  // (docs/providers.md). Its event is written at twice TOTAL_MS.
  it('one that never answers, even read on past the deadline, is billed the bound: its input counted, its max_tokens of output', async () => {
    const key = await newKey();
    const res = await post(key.value, '/v1/chat/completions', { model: 'gpt-never', ...ask });
    expect(res.status).toBe(504);
    const rows = await eventsWithin(key.id);
    expect(rows[0]).toMatchObject({ billable: 1, outcome: 'timeout', status: 504, error_code: 'upstream_timeout', output_tokens: 4000 });
    expect(Number(rows[0].input_tokens)).toBeGreaterThan(0);
    expect(Number(rows[0].cost_nanousd)).toBe(Number(rows[0].input_tokens) * 10_000 + 4000 * 1_000_000);
  }, 25_000);

  it('a stream whose headers are late is still cut (a hang-up cuts it too)', async () => {
    const key = await newKey();
    const aborted = up.aborted;
    const res = await post(key.value, '/v1/chat/completions', { model: 'gpt-late', ...ask, stream: true });
    expect(res.status).toBe(504);
    const rows = await eventsWithin(key.id);
    expect(rows[0]).toMatchObject({ billable: 0, outcome: 'timeout', streamed: 1 });
    for (let i = 0; i < 100 && up.aborted === aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.aborted).toBe(aborted + 1);
  });

  it('the connection the 504 went out on serves the next request', async () => {
    const key = await newKey();
    const { request } = await import('node:http');
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    const send = (model: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const r = request(`${t.url}/v1/chat/completions`, { method: 'POST', agent, headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: r.socket }));
        });
        r.on('error', reject);
        r.end(JSON.stringify({ model, ...ask }));
      });
    const first = await send('gpt-late');
    expect(first.status).toBe(504);
    // The late answer arrives and is billed while the next request runs on the same socket.
    const second = await send('gpt-late');
    expect(second.status).toBe(504);
    expect(second.socket).toBe(first.socket);
    expect((await eventsWithin(key.id, 2)).every((r) => r.billable === 1)).toBe(true);
    agent.destroy();
  });
});

describe('a shutdown while a late answer is awaited', () => {
  it('gives it the grace, then abandons it: the server stops without waiting for its deadline', async () => {
    const up = await startLate();
    const url = `${await listenOnLoopback(up.server)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY', timeouts: { first_byte_ms: FIRST_BYTE_MS, total_ms: 120_000 } }] });
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000', TOLLGATE_SHUTDOWN_GRACE_MS: '500' } });
    try {
      const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'late' } })).body as { value: string };
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-never', max_tokens: 10, messages: [] }),
      });
      expect(res.status).toBe(504);
      expect(t.server.gateway.detached?.size).toBe(1);
      const started = performance.now();
      await t.close();
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      up.server.closeAllConnections();
      up.server.close();
    }
  }, 30_000);
});
