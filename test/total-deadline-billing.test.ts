import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A generation that runs past its provider's `total_ms` was billed nothing (a whole answer: 504, billable 0, $0) or
// only what its stream showed (o3: out 0, $0.000042), and its hard cap's reservation released, while the provider,
// which had the request, generated the answer (90,000 tokens, 89,990 of them reasoning) and billed it (found by a
// review). A cut the gateway makes itself at `total_ms` is now billed as a client that hangs up would be: what the
// provider bills, which the gateway bounds by what the hard cap reserved for it (the counted input, and the most
// output it may generate at the output rate), for a whole answer and a stream that a hang-up would read on. A provider
// that answers an error, or breaks off, is still billed nothing.

const ORG = '/v1/organization';
const FIRST_BYTE_MS = 500;
const TOTAL_MS = 1500;
/** When the upstream answers: past `total_ms`. */
const ANSWER_MS = 2500;
const USAGE = { prompt_tokens: 21, completion_tokens: 90_000, total_tokens: 90_021, completion_tokens_details: { reasoning_tokens: 89_990 } };
/** o3's largest answer (core/model-limits.ts), at its $8 per million output. */
const O3_MAX_OUTPUT = 100_000;
const O3_OUTPUT_NANO = 8_000;

describeEachDatabase('a generation cut at its provider total_ms', (backend) => {
  let t: TestServer;
  let up: Server;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
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
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
        // Thinking: keep-alive comments only.
        const alive = setInterval(() => res.write(': keep-alive\n\n'), 200);
        await late();
        clearInterval(alive);
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'Forty-two.' }, finish_reason: 'stop' }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: USAGE })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
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
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const timeouts = { first_byte_ms: FIRST_BYTE_MS, total_ms: TOTAL_MS };
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY', timeouts, circuit_breaker: false }], default_provider: 'oai' });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async (extra: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'deadline', ...extra } })).body as { id: string; value: string };
  const post = (key: string, body: Record<string, unknown>, path = '/v1/chat/completions') => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    return fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  };
  const ask = (tag = 'what is the answer', extra: Record<string, unknown> = {}) => ({ model: 'o3', messages: [{ role: 'user', content: tag }], ...extra });
  /** The key's usage events once `atLeast` are written, waiting past the deadline. */
  const eventsOf = async (keyId: string, atLeast = 1) => {
    for (let i = 0; ; i++) {
      await t.server.gateway.usage.flush();
      const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', keyId).execute();
      if (rows.length >= atLeast || i === 200) return rows as Array<Record<string, unknown>>;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('a whole answer: answered 504, then billed the bound at total_ms (input counted, o3 largest answer at the output rate)', async () => {
    const key = await newKey();
    const res = await post(key.value, ask());
    expect(res.status).toBe(504);
    await res.body?.cancel();
    const [e] = await eventsOf(key.id);
    expect(e).toMatchObject({ billable: 1, outcome: 'timeout', status: 504, output_tokens: O3_MAX_OUTPUT });
    expect(Number(e.input_tokens)).toBeGreaterThan(0);
    expect(Number(e.cost_nanousd)).toBeGreaterThanOrEqual(O3_MAX_OUTPUT * O3_OUTPUT_NANO);
  });

  it('a whole answer whose body the deadline cuts, and one whose max_completion_tokens bounds it', async () => {
    const partial = await newKey();
    const res = await post(partial.value, ask('partial'));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect((await eventsOf(partial.id))[0]).toMatchObject({ billable: 1, outcome: 'timeout', output_tokens: O3_MAX_OUTPUT });
    const bounded = await newKey();
    await (await post(bounded.value, ask(undefined, { max_completion_tokens: 95_000 }))).body?.cancel();
    expect((await eventsOf(bounded.id))[0]).toMatchObject({ billable: 1, outcome: 'timeout', output_tokens: 95_000 });
  });

  it('a stream a hang-up would read on (o3): billed the bound at total_ms, not the nothing it showed', async () => {
    const key = await newKey();
    const res = await post(key.value, ask(undefined, { stream: true }));
    expect(res.status).toBe(200);
    await res.text();
    const [e] = await eventsOf(key.id);
    expect(e).toMatchObject({ billable: 1, outcome: 'timeout', streamed: 1, output_tokens: O3_MAX_OUTPUT });
    expect(Number(e.cost_nanousd)).toBeGreaterThanOrEqual(O3_MAX_OUTPUT * O3_OUTPUT_NANO);
  });

  it('translated (an Anthropic client, o3 at an OpenAI provider), whole and streamed: the same bound', async () => {
    const billed = [];
    for (const stream of [false, true]) {
      const key = await newKey();
      const res = await post(key.value, { ...ask(), max_tokens: 50_000, stream }, '/v1/messages');
      await res.text();
      const [e] = await eventsOf(key.id);
      billed.push({ stream, billable: e.billable, outcome: e.outcome, output_tokens: e.output_tokens });
    }
    expect(billed).toEqual([false, true].map((stream) => ({ stream, billable: 1, outcome: 'timeout', output_tokens: 50_000 })));
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

  it('a $5 hard cap: each call cut at the deadline keeps what it reserved, and no more are admitted than it pays for', async () => {
    const key = await newKey({ spend_limit: { threshold_amount: 500, interval: 'month' } });
    // o3 without max tokens reserves its largest answer ($0.80 of output): six fit under $5.
    const first = await Promise.all(Array.from({ length: 7 }, () => post(key.value, ask())));
    const statuses = first.map((r) => r.status).sort();
    for (const r of first) await r.body?.cancel();
    expect(statuses).toEqual([429, 504, 504, 504, 504, 504, 504]);
    const rows = await eventsOf(key.id, 7);
    const spent = rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
    expect(spent).toBeGreaterThanOrEqual(6 * O3_MAX_OUTPUT * O3_OUTPUT_NANO);
    const after = await post(key.value, ask());
    expect(after.status).toBe(429);
    await after.body?.cancel();
  });
});
