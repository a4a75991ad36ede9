import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { contractProblems, specAvailable } from './harness/openapi-contract.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The service tier a request ran at (issue 17 §2, group_by=service_tier): recorded from the upstream's answer
// (chat completions and responses, streamed or not), else from what the request asked for, else null; then grouped
// by in the Usage API, in OpenAI's shape.

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
const responseUsage = { input_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, total_tokens: 18 };

/**
 * An upstream that answers the tier as OpenAI does: `fast` asked runs at `priority`, nothing asked at `default`. Model
 * `silent` names no tier in its answers (as many OpenAI-compatible servers).
 */
async function startTierUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const asked = typeof body.service_tier === 'string' ? body.service_tier : null;
    const tier = body.model === 'silent' ? {} : { service_tier: asked === 'fast' ? 'priority' : (asked ?? 'default') };
    const sse = (events: unknown[]) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
      res.end();
    };
    if (req.url === '/v1/chat/completions') {
      const base = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model, ...tier, system_fingerprint: 'fp' };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage }));
        return;
      }
      const chunk = { ...base, object: 'chat.completion.chunk', usage: null };
      sse([{ ...chunk, choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] }, { ...chunk, choices: [], usage }, '[DONE]']);
      return;
    }
    if (req.url === '/v1/responses') {
      // A tool whose schema has a property of its own named service_tier, and metadata naming one: neither is the answer's.
      const tools = [{ type: 'function', name: 'book', parameters: { type: 'object', properties: { service_tier: { type: 'string' } } } }];
      const response = { id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model, output: [], ...tier, tools, usage: responseUsage, metadata: { service_tier: 'scale' } };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(response));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'hi' })}\n\n`);
      res.end(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response })}\n\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not here","type":"invalid_request_error"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Anthropic's Messages API naming the tier in its usage, as Anthropic does (the message's, and a stream's message_start
 * and message_delta): model `claude-priority` runs at `priority`, `claude-silent` names none, any other at `standard`.
 */
async function startTierAnthropic(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const tier = body.model === 'claude-silent' ? {} : { service_tier: body.model === 'claude-priority' ? 'priority' : 'standard' };
    const usage = { input_tokens: 11, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7, ...tier };
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message));
      return;
    }
    const events = [
      { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7, ...tier } },
      { type: 'message_stop' },
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The `data:` objects of an SSE answer. */
const sseData = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)));

describeEachDatabase('service tier of each request', (backend) => {
  let up: Awaited<ReturnType<typeof startTierUpstream>>;
  let claude: Awaited<ReturnType<typeof startTierAnthropic>>;
  let t: TestServer;
  let key: { id: string; value: string };
  /** The key of the Anthropic and translated requests (the group_by test counts only the first key's). */
  let claudeKey: { id: string; value: string };
  const started = Math.floor(Date.now() / 1000) - 60;

  beforeAll(async () => {
    up = await startTierUpstream();
    claude = await startTierAnthropic();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-tier-')), 'tollgate.config.json');
    const providers = [
      { name: 'tiers', base_url: up.url, api_key_env: 'TIER_KEY' },
      { name: 'claude', kind: 'anthropic', base_url: claude.url, api_key_env: 'TIER_KEY' },
    ];
    writeFileSync(file, JSON.stringify({ providers, routes: { 'claude-*': 'claude' }, default_provider: 'tiers' }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, TIER_KEY: 'sk-tier-provider' } });
    key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'tiers' } })).body;
    claudeKey = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'claude tiers' } })).body;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
    await claude?.close();
  });

  /** Sends a request through the gateway; the service tier its usage event recorded, and the answer's text. */
  async function answerOf(path: string, body: Record<string, unknown>, as = key): Promise<{ tier: string | null; text: string }> {
    const res = await fetch(`${t.url}/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${as.value}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const id = res.headers.get('x-request-id') as string;
    await t.server.gateway.usage.flush();
    const row = await t.server.runtime.database.db.selectFrom('usage_events').select(['service_tier', 'outcome']).where('request_id', '=', id).executeTakeFirstOrThrow();
    expect(row.outcome).toBe('ok');
    return { tier: row.service_tier, text };
  }
  const tierOf = async (path: string, body: Record<string, unknown>, as = key) => (await answerOf(path, body, as)).tier;

  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
  const responses = { model: 'gpt-4o-mini', input: 'hi' };

  it("records the tier the answer names, over the one asked for (chat completions and responses, streamed or not)", async () => {
    expect(await tierOf('/chat/completions', chat)).toBe('default');
    expect(await tierOf('/chat/completions', { ...chat, service_tier: 'flex' })).toBe('flex');
    expect(await tierOf('/chat/completions', { ...chat, service_tier: 'fast' })).toBe('priority');
    expect(await tierOf('/chat/completions', { ...chat, service_tier: 'fast', stream: true })).toBe('priority');
    expect(await tierOf('/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } })).toBe('default');
    expect(await tierOf('/responses', { ...responses, service_tier: 'fast' })).toBe('priority');
    expect(await tierOf('/responses', { ...responses, service_tier: 'flex', stream: true })).toBe('flex');
  });

  it('falls back to the tier asked for when the answer names none, else records none', async () => {
    expect(await tierOf('/chat/completions', { ...chat, model: 'silent', service_tier: 'flex' })).toBe('flex');
    expect(await tierOf('/chat/completions', { ...chat, model: 'silent', service_tier: 'flex', stream: true })).toBe('flex');
    expect(await tierOf('/responses', { ...responses, model: 'silent', service_tier: 'priority' })).toBe('priority');
    expect(await tierOf('/chat/completions', { ...chat, model: 'silent' })).toBeNull();
    // Not a tier of OpenAI's specification: not recorded (the upstream may accept it, the rollups do not take it).
    expect(await tierOf('/chat/completions', { ...chat, model: 'silent', service_tier: 'x'.repeat(200) })).toBeNull();
  });

  const claudeChat = { model: 'claude-sonnet', messages: [{ role: 'user', content: 'hi' }] };
  const message = { model: 'claude-sonnet', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

  it("records Anthropic's tier under OpenAI's names (standard is default), from the message or its stream", async () => {
    expect(await tierOf('/messages', message, claudeKey)).toBe('default');
    expect(await tierOf('/messages', { ...message, model: 'claude-priority' }, claudeKey)).toBe('priority');
    expect(await tierOf('/messages', { ...message, stream: true }, claudeKey)).toBe('default');
    expect(await tierOf('/messages', { ...message, model: 'claude-priority', stream: true }, claudeKey)).toBe('priority');
    // Named by nothing: what the request asked for, in OpenAI's names (Anthropic's standard_only is default).
    expect(await tierOf('/messages', { ...message, model: 'claude-silent', service_tier: 'standard_only' }, claudeKey)).toBe('default');
    expect(await tierOf('/messages', { ...message, model: 'claude-silent', service_tier: 'auto', stream: true }, claudeKey)).toBe('auto');
    expect(await tierOf('/messages', { ...message, model: 'claude-silent' }, claudeKey)).toBeNull();
  });

  it('carries the tier across a translation: to an OpenAI client as service_tier, to an Anthropic client as usage.service_tier', async () => {
    // An OpenAI client calling a Claude model.
    const plain = await answerOf('/chat/completions', claudeChat, claudeKey);
    expect(plain.tier).toBe('default');
    expect(JSON.parse(plain.text).service_tier).toBe('default');
    const fast = await answerOf('/chat/completions', { ...claudeChat, model: 'claude-priority', stream: true, stream_options: { include_usage: true } }, claudeKey);
    expect(fast.tier).toBe('priority');
    const chunks = sseData(fast.text);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.service_tier === 'priority')).toBe(true);
    const silent = await answerOf('/chat/completions', { ...claudeChat, model: 'claude-silent', service_tier: 'default' }, claudeKey);
    expect(silent.tier).toBe('default');
    expect(JSON.parse(silent.text)).not.toHaveProperty('service_tier');
    // An Anthropic client calling an OpenAI model (whose answers name `default`).
    const toOpenAI = await answerOf('/messages', { ...message, model: 'gpt-4o-mini' }, claudeKey);
    expect(toOpenAI.tier).toBe('default');
    expect(JSON.parse(toOpenAI.text).usage.service_tier).toBe('standard');
    const streamed = await answerOf('/messages', { ...message, model: 'gpt-4o-mini', service_tier: 'standard_only', stream: true }, claudeKey);
    expect(streamed.tier).toBe('default');
    const events = sseData(streamed.text);
    const start = events.find((e) => e.type === 'message_start') as { message: { usage: Record<string, unknown> } };
    const delta = events.find((e) => e.type === 'message_delta') as { usage: Record<string, unknown> };
    expect([start.message.usage.service_tier, delta.usage.service_tier]).toEqual(['standard', 'standard']);
    // A tier Anthropic has no name for (this upstream answers `auto` when asked it): recorded, not shown.
    const auto = await answerOf('/messages', { ...message, model: 'gpt-4o-mini', service_tier: 'auto' }, claudeKey);
    expect(auto.tier).toBe('auto');
    expect(JSON.parse(auto.text).usage).not.toHaveProperty('service_tier');
  });

  it.runIf(specAvailable())('groups the Usage API by the recorded tiers, in the shape of OpenAI’s specification', async () => {
    const path = `/organization/usage/completions?start_time=${started}&bucket_width=1d&limit=2&api_key_ids=${key.id}&group_by=service_tier`;
    const res = await t.api('GET', `/v1${path}`);
    expect(res.status, res.text).toBe(200);
    expect(contractProblems('GET', path, res.status, res.body)).toEqual([]);
    const counts: Record<string, number> = {};
    for (const r of res.body.data.flatMap((b: { results: Array<{ service_tier: string | null; num_model_requests: number }> }) => b.results)) {
      counts[String(r.service_tier)] = (counts[String(r.service_tier)] ?? 0) + r.num_model_requests;
    }
    expect(counts).toEqual({ default: 2, flex: 4, priority: 4, null: 2 });
  });
});
