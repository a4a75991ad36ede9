import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A stream whose usage names its output but not its input (an Anthropic-compatible server whose message_start carries
// no usage, an OpenAI-compatible one whose usage chunk has no prompt_tokens) was billed 0 input tokens: the provider
// read the whole prompt. The input is billed at the gateway's own count of the prompt then, as for a stream with no
// usage at all.

const ORG = '/v1/organization';
const PROMPT = 'tell me a long story about the sea and the ships and the sailors who crossed it. '.repeat(20);

async function startUpstream(): Promise<Server> {
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { model: string };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (req.url?.endsWith('/messages')) {
      const ev = (type: string, o: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`;
      res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null } }));
      res.write(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      res.write(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Once upon a time.' } }));
      res.write(ev('content_block_stop', { index: 0 }));
      res.write(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }));
      res.end(ev('message_stop', {}));
      return;
    }
    const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, ...o })}\n\n`;
    res.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Once upon a time.' }, finish_reason: null }] }));
    res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    res.write(chunk({ choices: [], usage: { completion_tokens: 5 } }));
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('a stream whose usage leaves out its input', () => {
  let t: TestServer;
  let upstream: Server;
  let key = { id: '', value: '' };

  beforeAll(async () => {
    upstream = await startUpstream();
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const file = gatewayConfigFile({
      providers: [
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'UP_KEY', models: ['claude-sonnet-4-5'] },
        { name: 'oai', base_url: url, api_key_env: 'UP_KEY', models: ['gpt-4o'] },
      ],
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    upstream?.close();
  });

  const fresh = async () => {
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body;
  };
  const billed = async () => {
    const [event] = await usageEventsOf(t, key.id);
    return { input: Number(event.input_tokens), output: Number(event.output_tokens) };
  };

  it("Anthropic's Messages API: message_start without usage", async () => {
    await fresh();
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const b = await billed();
    expect(b.output).toBe(5);
    expect(b.input).toBeGreaterThan(300);
  });

  it('a chat stream whose usage chunk has no prompt_tokens', async () => {
    await fresh();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const b = await billed();
    expect(b.output).toBe(5);
    expect(b.input).toBeGreaterThan(300);
  });
});
