import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A generation that runs past its provider's `total_ms` was billed nothing (a whole answer: 504, billable 0, $0) or
// only what its stream showed (o3: out 0, $0.000042), and its hard cap's reservation released, while the provider,
// which had the request, generated the answer (90,000 tokens, 89,990 of them reasoning) and billed it (found by a
// review). Billed a bound at the cut instead (the counted input, and the most output it may generate), it was
// over-billed whenever the provider's generation was smaller, and a provider that hung billed a full bound. Now the
// cut only ends the client's wait (504, or its stream's end): the upstream call is read on, for as long as total_ms
// again, and billed the usage it comes with, as a client's hang-up on a reasoning stream is; the bound only when
// the read-on ends without usage (the upstream broke off, never answered, or a shutdown came first). The reservation is
// held meanwhile. A provider that answers an error is still billed nothing.

const ORG = '/v1/organization';
const FIRST_BYTE_MS = 500;
const TOTAL_MS = 1500;
/** When the upstream answers: past `total_ms`, within as long again. */
const ANSWER_MS = 2500;
const USAGE = { prompt_tokens: 21, completion_tokens: 90_000, total_tokens: 90_021, completion_tokens_details: { reasoning_tokens: 89_990 } };
/** o3 at $2 per million input and $8 per million output. */
const O3_INPUT_NANO = 2_000;
const O3_OUTPUT_NANO = 8_000;
const USAGE_COST = USAGE.prompt_tokens * O3_INPUT_NANO + USAGE.completion_tokens * O3_OUTPUT_NANO;
/** o3's largest answer (core/model-limits.ts): the bound's output without max tokens. */
const O3_MAX_OUTPUT = 100_000;

interface Upstream {
  server: Server;
  /** Requests whose connection the gateway closed before they were answered. */
  closed: number;
}

/**
 * Answers by the last message's text: `fails` an error before the deadline; `never` nothing, ever; `breaks` a reset
 * past the deadline; `partial` (whole only) its headers and first bytes on time, the rest past it; `starts late` (stream
 * only) its headers, text and usage at ANSWER_MS; anything else its answer (or a stream's text and usage, after
 * keep-alives) at ANSWER_MS.
 */
async function startUpstream(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), closed: 0 };
  u.server.on('request', async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    res.on('close', () => {
      if (!res.writableFinished) u.closed++;
    });
    const body = JSON.parse(text) as { model: string; stream?: boolean; messages: Array<{ content: unknown }> };
    const tag = String(body.messages.at(-1)?.content ?? '');
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model };
    const late = () => new Promise((r) => setTimeout(r, ANSWER_MS));
    if (tag === 'fails') {
      await new Promise((r) => setTimeout(r, FIRST_BYTE_MS + 300));
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
      return;
    }
    if (body.stream) {
      // Nothing at all until it answers.
      if (tag === 'starts late') await late();
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
      // Thinking: keep-alive comments only.
      const alive = setInterval(() => res.write(': keep-alive\n\n'), 200);
      res.on('close', () => clearInterval(alive));
      if (tag === 'never') return;
      if (tag !== 'starts late') await late();
      clearInterval(alive);
      if (res.destroyed) return;
      if (tag === 'breaks') return void res.destroy();
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'Forty-two.' }, finish_reason: 'stop' }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: USAGE })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    if (tag === 'never') return;
    const answer = JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Forty-two.', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: USAGE,
    });
    // Its headers and the start of its body on time, the rest past the deadline.
    if (tag === 'partial') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(answer.slice(0, 20));
      await late();
      if (!res.destroyed) res.end(answer.slice(20));
      return;
    }
    await late();
    if (res.destroyed) return;
    if (tag === 'breaks') return void res.destroy();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer);
  });
  await listenOnLoopback(u.server);
  return u;
}

const urlOf = (u: Upstream) => {
  const addr = u.server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}/v1`;
};

const startGateway = (
  backend: Backend,
  u: Upstream,
  total: number,
  env: Record<string, string> = {},
  opts: { dataDir?: string; schema?: string; keepSchema?: boolean } = {},
  firstByte = FIRST_BYTE_MS,
) => {
  const timeouts = { first_byte_ms: firstByte, total_ms: total };
  const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: urlOf(u), api_key_env: 'UP_KEY', timeouts, circuit_breaker: false }], default_provider: 'oai' });
  // On PostgreSQL, the hard cap's reservations held in Redis when it is there to test (as a deployment of several runs).
  const redis: Record<string, string> = backend.name === 'postgres' && process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {};
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000', ...redis, ...env }, ...opts });
};

const newKeyOf = async (t: TestServer, extra: Record<string, unknown> = {}) =>
  (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'deadline', ...extra } })).body as { id: string; value: string };
const postTo = (t: TestServer, key: string, body: Record<string, unknown>, path = '/v1/chat/completions') => {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
  return fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
};
const ask = (tag = 'what is the answer', extra: Record<string, unknown> = {}) => ({ model: 'o3', messages: [{ role: 'user', content: tag }], ...extra });

describeEachDatabase('a generation cut at its provider total_ms', (backend) => {
  let t: TestServer;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    t = await startGateway(backend, up, TOTAL_MS);
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  const newKey = (extra: Record<string, unknown> = {}) => newKeyOf(t, extra);
  const post = (key: string, body: Record<string, unknown>, path?: string) => postTo(t, key, body, path);
  /** The key's usage events once `atLeast` are written, waiting past the read-on, and when the first was seen. */
  const eventsOf = async (keyId: string, atLeast = 1) => {
    for (let i = 0; ; i++) {
      await t.server.gateway.usage.flush();
      const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
      if (rows.length >= atLeast || i === 300) return rows as Array<Record<string, unknown>>;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The first usage event of the key, and how long after `started` it was seen written. */
  const billedAt = async (keyId: string, started: number) => {
    const [e] = await eventsOf(keyId);
    return { e, ms: performance.now() - started };
  };

  it('a whole answer: answered 504 (its first byte late), read on past total_ms, then billed the usage it came with (not the bound)', async () => {
    const key = await newKey();
    const started = performance.now();
    const res = await post(key.value, ask());
    expect(res.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(ANSWER_MS);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    const { e, ms } = await billedAt(key.id, started);
    expect(ms).toBeGreaterThanOrEqual(ANSWER_MS - 50);
    expect(e).toMatchObject({ billable: 1, outcome: 'timeout', status: 504, error_code: 'upstream_timeout', input_tokens: 21, output_tokens: 90_000, streamed: 0 });
    expect(Number(e.cost_nanousd)).toBe(USAGE_COST);
  });

  it('a whole answer whose body the deadline cuts, and one whose max_completion_tokens bounds it: their usage too', async () => {
    const partial = await newKey();
    const res = await post(partial.value, ask('partial'));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect((await eventsOf(partial.id))[0]).toMatchObject({ billable: 1, outcome: 'timeout', status: 504, input_tokens: 21, output_tokens: 90_000 });
    const bounded = await newKey();
    await (await post(bounded.value, ask(undefined, { max_completion_tokens: 95_000 }))).body?.cancel();
    expect((await eventsOf(bounded.id))[0]).toMatchObject({ billable: 1, outcome: 'timeout', output_tokens: 90_000 });
  });

  it('a stream a hang-up would read on (o3): ended for its client at total_ms, read on, billed its usage', async () => {
    const key = await newKey();
    const started = performance.now();
    const res = await post(key.value, ask(undefined, { stream: true }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(performance.now() - started).toBeLessThan(ANSWER_MS);
    expect(text).toContain('"code":"upstream_error"');
    expect(text).not.toContain('Forty-two');
    const { e, ms } = await billedAt(key.id, started);
    expect(ms).toBeGreaterThanOrEqual(ANSWER_MS - 50);
    expect(e).toMatchObject({ billable: 1, outcome: 'timeout', streamed: 1, input_tokens: 21, output_tokens: 90_000 });
    expect(Number(e.cost_nanousd)).toBe(USAGE_COST);
  });

  it('translated (an Anthropic client, o3 at an OpenAI provider), whole and streamed: its usage as well', async () => {
    const billed = [];
    for (const stream of [false, true]) {
      const key = await newKey();
      const started = performance.now();
      const res = await post(key.value, { ...ask(), max_tokens: 95_000, stream }, '/v1/messages');
      await res.text();
      expect(performance.now() - started).toBeLessThan(ANSWER_MS);
      const [e] = await eventsOf(key.id);
      billed.push({ stream, status: res.status, billable: e.billable, outcome: e.outcome, input_tokens: e.input_tokens, output_tokens: e.output_tokens });
    }
    expect(billed).toEqual([
      { stream: false, status: 504, billable: 1, outcome: 'timeout', input_tokens: 21, output_tokens: 90_000 },
      { stream: true, status: 200, billable: 1, outcome: 'timeout', input_tokens: 21, output_tokens: 90_000 },
    ]);
  });

  it('one that never answers is billed the bound once the read-on ends (total_ms again), its upstream call then closed', async () => {
    const cases = [
      { name: 'whole', body: ask('never'), output: O3_MAX_OUTPUT },
      { name: 'stream', body: ask('never', { stream: true }), output: O3_MAX_OUTPUT },
      { name: 'bounded', body: ask('never', { max_completion_tokens: 40_000 }), output: 40_000 },
      { name: 'translated', body: { ...ask('never'), max_tokens: 50_000 }, output: 50_000, path: '/v1/messages' },
    ];
    const closed = up.closed;
    const results = await Promise.all(
      cases.map(async (c) => {
        const key = await newKey();
        const started = performance.now();
        const res = await post(key.value, c.body, c.path);
        await res.text();
        const answeredMs = performance.now() - started;
        const { e, ms } = await billedAt(key.id, started);
        return { name: c.name, answeredEarly: answeredMs < 2 * TOTAL_MS, billedAfterReadOn: ms >= 2 * TOTAL_MS - 50, billable: e.billable, outcome: e.outcome, output_tokens: e.output_tokens };
      }),
    );
    expect(results).toEqual(cases.map((c) => ({ name: c.name, answeredEarly: true, billedAfterReadOn: true, billable: 1, outcome: 'timeout', output_tokens: c.output })));
    for (let i = 0; i < 100 && up.closed < closed + cases.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.closed).toBe(closed + cases.length);
  });

  it('one the upstream breaks off while it is read on is billed the bound', async () => {
    for (const stream of [false, true]) {
      const key = await newKey();
      await (await post(key.value, ask('breaks', { stream }))).text();
      expect((await eventsOf(key.id))[0]).toMatchObject({ billable: 1, outcome: 'timeout', output_tokens: O3_MAX_OUTPUT });
    }
  });

  it('a stream a hang-up would cut (gpt-4o) is billed what it showed; a provider that answered 500 nothing', async () => {
    const key = await newKey();
    await (await post(key.value, { ...ask(), model: 'gpt-4o', stream: true })).text();
    const [e] = await eventsOf(key.id);
    expect(e).toMatchObject({ billable: 1, outcome: 'timeout' });
    expect(Number(e.output_tokens)).toBeLessThan(10);
    const failing = await newKey();
    const res = await post(failing.value, ask('fails'));
    await res.body?.cancel();
    const [f] = await eventsOf(failing.id);
    expect(f).toMatchObject({ billable: 0, output_tokens: 0 });
    expect(Number(f.cost_nanousd)).toBe(0);
  });

  it('a $5 hard cap: what each call reserved is held while it is read on, then settled to its usage', async () => {
    const key = await newKey({ spend_limit: { threshold_amount: 500, interval: 'month' } });
    // o3 without max tokens reserves its largest answer ($0.80 of output): six fit under $5.
    const first = await Promise.all(Array.from({ length: 7 }, () => post(key.value, ask())));
    const statuses = first.map((r) => r.status).sort();
    for (const r of first) await r.body?.cancel();
    expect(statuses).toEqual([429, 504, 504, 504, 504, 504, 504]);
    // Read on: $4.80 held, so a call reserving $0.40 of output does not fit. (Its upstream answers 500: nothing billed.)
    const held = await post(key.value, ask('fails', { max_completion_tokens: 50_000 }));
    expect(held.status).toBe(429);
    await held.body?.cancel();
    const rows = await eventsOf(key.id, 8);
    expect(rows.filter((r) => r.billable === 1).map((r) => Number(r.cost_nanousd))).toEqual(Array(6).fill(USAGE_COST));
    // Settled to $0.72 each ($4.32): $0.68 left, so that call fits now; the largest o3 answer does not.
    const fits = await post(key.value, ask('fails', { max_completion_tokens: 50_000 }));
    expect(fits.status).not.toBe(429);
    await fits.body?.cancel();
    const after = await post(key.value, ask());
    expect(after.status).toBe(429);
    await after.body?.cancel();
  });

  it('with a first_byte_ms past total_ms: a whole answer and a stream not begun are answered 504 at total_ms, then billed their usage', async () => {
    // Its own server: the first byte waited for as long as the whole request.
    const s = await startGateway(backend, up, TOTAL_MS, {}, {}, 5000);
    try {
      const results = await Promise.all(
        [ask(), ask('starts late', { stream: true })].map(async (body) => {
          const key = await newKeyOf(s);
          const started = performance.now();
          const res = await postTo(s, key.value, body);
          const answer = (await res.json()) as { error: { code: string; message: string } };
          const answeredMs = performance.now() - started;
          for (let i = 0; i < 300; i++) {
            await s.server.gateway.usage.flush();
            const [e] = await s.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).execute();
            if (e) return { status: res.status, code: answer.error.code, atDeadline: answeredMs >= TOTAL_MS - 50 && answeredMs < ANSWER_MS, billed: { status: e.status, outcome: e.outcome, billable: e.billable, output_tokens: e.output_tokens } };
            await new Promise((r) => setTimeout(r, 50));
          }
          return null;
        }),
      );
      const billed = { status: 504, outcome: 'timeout', billable: 1, output_tokens: 90_000 };
      expect(results).toEqual([
        { status: 504, code: 'upstream_timeout', atDeadline: true, billed },
        { status: 504, code: 'upstream_timeout', atDeadline: true, billed },
      ]);
    } finally {
      await s.close();
    }
  }, 30_000);

  it('a shutdown while calls are read on: one whose usage comes within the grace is billed it, the other its bound', async () => {
    // Its own server, stopped here: total_ms 2 s (read on to 4 s), a grace of 1 s from 2.2 s.
    const s = await startGateway(backend, up, 2000, { TOLLGATE_SHUTDOWN_GRACE_MS: '1000' }, { keepSchema: true });
    let again: TestServer | null = null;
    try {
      const comes = await newKeyOf(s);
      const never = await newKeyOf(s);
      const started = performance.now();
      const answered = await Promise.all([postTo(s, comes.value, ask()), postTo(s, never.value, ask('never'))]);
      expect(answered.map((r) => r.status)).toEqual([504, 504]);
      for (const r of answered) await r.body?.cancel();
      // Answered at first_byte_ms; the shutdown begins once total_ms has passed, the calls read on.
      await new Promise((r) => setTimeout(r, 2200 - (performance.now() - started)));
      expect(s.server.gateway.detached?.size).toBe(2);
      const stopping = performance.now();
      await s.server.close();
      // Not held to the read-on's end (about 2 s away when the shutdown began).
      expect(performance.now() - stopping).toBeLessThan(1900);
      again = await startGateway(backend, up, 2000, {}, { dataDir: s.dataDir, schema: s.schema });
      const rows = await again.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', 'in', [comes.id, never.id]).execute();
      const byKey = (id: string) => rows.find((r) => r.api_key_id === id) as Record<string, unknown>;
      expect(rows).toHaveLength(2);
      expect(byKey(comes.id)).toMatchObject({ billable: 1, outcome: 'timeout', input_tokens: 21, output_tokens: 90_000 });
      expect(byKey(never.id)).toMatchObject({ billable: 1, outcome: 'timeout', output_tokens: O3_MAX_OUTPUT });
    } finally {
      await (again ?? s).close();
    }
  }, 30_000);
});
