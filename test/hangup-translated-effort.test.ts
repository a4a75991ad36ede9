import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Found by review: an OpenAI client's stream to Claude (translated) was judged at its client's hang-up without its
// body, so a reasoning_effort (Anthropic's output_config.effort, spent on thinking it summarises) was never seen and the
// stream was cut, its thinking unbilled. Claude is a model known to show all it generates unless asked to reason: asked,
// it is read on to its usage, as natively.
const ORG = '/v1/organization';

describe('an OpenAI client that hangs up on a translated Claude stream', () => {
  let t: TestServer;
  let up: Server;
  /** Whether the upstream's stream was cut before its usage, by the request's user. */
  const cut = new Map<string, boolean>();
  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const body = JSON.parse(text) as { model: string; metadata?: { user_id?: string } };
      const who = body.metadata?.user_id ?? '';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (e: Record<string, unknown>) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      ev({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } } });
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'The answer is 42.' } });
      await new Promise((r) => setTimeout(r, 400));
      cut.set(who, res.destroyed);
      if (res.destroyed) return;
      ev({ type: 'content_block_stop', index: 0 });
      ev({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 10_010 } });
      res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({
      providers: [{ name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'ANT_KEY' }],
      routes: { 'claude-*': 'ant' },
      pricing: { 'claude-sonnet-4-5': { input: 3, output: 15 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, ANT_KEY: 'sk-ant-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  async function hangUpAfterAnswer(user: string, extra: Record<string, unknown>) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: user } })).body as { id: string; value: string };
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, user, max_tokens: 20_000, messages: [{ role: 'user', content: 'hard question' }], ...extra }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('The answer is 42.')) seen += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const [e] = await usageEventsOf(t, key.id);
    return e;
  }

  it('asked to reason (reasoning_effort), read on to its usage and billed it', async () => {
    const e = await hangUpAfterAnswer('effort', { reasoning_effort: 'high' });
    expect(e.outcome).toBe('client_aborted');
    expect(Number(e.output_tokens)).toBe(10_010);
    expect(cut.get('effort')).toBe(false);
  });

  it('not asked to reason, cut where its client left, billed what it delivered', async () => {
    const e = await hangUpAfterAnswer('plain', {});
    expect(e.outcome).toBe('client_aborted');
    expect(Number(e.output_tokens)).toBeLessThan(20);
    await expect.poll(() => cut.get('plain'), { timeout: 2000 }).toBe(true);
  });
});
