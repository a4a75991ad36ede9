import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A whole (non-streamed) answer its client hangs up on before it arrives is billed as the provider bills it. Found by
// an outside review: the gateway aborted the upstream request and recorded nothing billable, while a provider that
// received the request generates (and bills) the answer whether anyone waits for it: a key could make costly requests,
// hang up just before each answer, and pay nothing — its budget untouched — while the account paid.

const ORG = '/v1/organization';
const INPUT = 1200;
const OUTPUT = 3400;
/** How long the upstream takes to answer: the client hangs up well before. */
const ANSWER_MS = 400;

interface Upstream {
  server: Server;
  url: string;
  /** Requests whose answer the upstream finished writing, and those whose connection was closed before it did. */
  finished: number;
  aborted: number;
}

/** An OpenAI- and Anthropic-shaped upstream that answers after ANSWER_MS, with usage. */
async function startSlow(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), url: '', finished: 0, aborted: 0 };
  u.server.on('request', async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string };
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) closed = true;
    });
    await new Promise((r) => setTimeout(r, ANSWER_MS));
    if (closed) {
      u.aborted++;
      return;
    }
    const anthropic = req.url?.endsWith('/messages') === true;
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
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(u.server.address() as AddressInfo).port}/v1`;
  return u;
}

describe('a client that hangs up on a whole answer still pays for it', () => {
  let t: TestServer;
  let up: Upstream;

  beforeAll(async () => {
    up = await startSlow();
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'SLOW_KEY' },
        { name: 'oai', base_url: up.url, api_key_env: 'SLOW_KEY' },
      ],
      routes: { 'claude-*': 'ant', 'gpt-*': 'oai' },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, SLOW_KEY: 'sk-slow-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  /** Sends a request, hangs up after 50 ms, and returns the key's usage events once one is written. */
  async function hangUp(path: string, body: Record<string, unknown>) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'hangup' } })).body as { id: string; value: string };
    const abort = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const sent = fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(sent).rejects.toThrow();
    for (let i = 0; i < 100; i++) {
      await t.server.gateway.usage.flush();
      const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).execute();
      if (rows.length > 0) return { key, rows };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no usage event');
  }

  const ask = { max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] };

  it.each([
    ['chat completions, OpenAI', '/v1/chat/completions', 'gpt-4o-mini'],
    ["Anthropic's Messages API, native", '/v1/messages', 'claude-sonnet-4-5'],
    ['an OpenAI client calling a Claude model (translated)', '/v1/chat/completions', 'claude-sonnet-4-5'],
    ['an Anthropic client calling an OpenAI model (translated)', '/v1/messages', 'gpt-4o-mini'],
  ])('%s: the upstream finishes the answer, and its usage is billed', async (_name, path, model) => {
    const finished = up.finished;
    const { rows } = await hangUp(path, { model, ...ask });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'client_aborted', billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 200 });
    expect(Number(rows[0].cost_nanousd)).toBeGreaterThan(0);
    expect(up.finished).toBe(finished + 1);
  });

  it('the usage API counts it: a budget cannot be dodged by hanging up', async () => {
    const { key } = await hangUp('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask });
    const now = Math.floor(t.server.runtime.deps.clock() / 1000);
    const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${now - 3600}&api_key_ids=${key.id}&group_by=api_key_id`);
    expect(usage.status).toBe(200);
    const results = (usage.body.data as Array<{ results: Array<{ input_tokens: number; output_tokens: number }> }>).flatMap((b) => b.results);
    expect(results.reduce((n, r) => n + r.output_tokens, 0)).toBe(OUTPUT);
  });

  it('a stream is still cut when its client leaves (the provider stops generating it)', async () => {
    const aborted = up.aborted;
    // The slow upstream answers streams as it answers the rest (after ANSWER_MS): the hang-up reaches it first.
    const { rows } = await hangUp('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask, stream: true });
    expect(rows[0].outcome).toBe('client_aborted');
    for (let i = 0; i < 50 && up.aborted === aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.aborted).toBe(aborted + 1);
  });
});
