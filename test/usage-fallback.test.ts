import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';

// A whole (non-streamed) answer without `usage` is billed by the tokenizer's count of what it generated. That count
// read only a chat message's content, a completion's text, Anthropic's text blocks and a top-level output_text (found
// by a review): an answer that was a tool call, a Responses API item or Anthropic's thinking billed no output at all,
// while the same answer streamed was billed its arguments and thinking. Now both read one definition of generated text.

const ORG = '/v1/organization';
/** Generated text of some 2,000 tokens, as a tool call's arguments, thinking, a Responses item. */
const LONG = 'lorem ipsum dolor sit amet '.repeat(400);
const ARGS = JSON.stringify({ text: LONG });

/** The upstream's answers, none with usage: `stream` in the body streams the same generation. */
function answer(path: string, stream: boolean): string {
  const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  if (path.endsWith('/chat/completions')) {
    const call = { index: 0, id: 'call_1', type: 'function', function: { name: 'write', arguments: ARGS } };
    if (stream) return `${sse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [call] }, finish_reason: null }] })}${sse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}data: [DONE]\n\n`;
    return JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'tool_calls' }] });
  }
  if (path.endsWith('/responses')) {
    return JSON.stringify({
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      model: 'gpt-4o-mini',
      output: [
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: LONG }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'write', arguments: ARGS, status: 'completed' },
      ],
    });
  }
  return JSON.stringify({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [
      { type: 'thinking', thinking: LONG, signature: 'EqQB' },
      { type: 'tool_use', id: 'toolu_1', name: 'write', input: { text: LONG } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
  });
}

describe('a whole answer without usage is billed for everything it generated', () => {
  let t: TestServer;
  let server: Server;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const stream = (JSON.parse(text) as { stream?: boolean }).stream === true;
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.end(answer(req.url ?? '', stream));
    });
    t = await gatewayForBothKinds(server);
  });
  afterAll(async () => {
    await t?.close();
    server?.close();
  });

  async function billed(path: string, body: Record<string, unknown>) {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'fallback' } })).body as { id: string; value: string };
    const headers: Record<string, string> = { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' };
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    await res.text();
    return (await usageEventsOf(t, key.id))[0];
  }

  const ask = { max_tokens: 4000, messages: [{ role: 'user', content: 'write' }] };

  it.each([
    ['a chat tool call', '/v1/chat/completions', { model: 'gpt-4o-mini', ...ask }, 1],
    ['a Response: reasoning summary and a function call', '/v1/responses', { model: 'gpt-4o-mini', input: 'write' }, 2],
    ["Anthropic's thinking and tool_use", '/v1/messages', { model: 'claude-sonnet-4-5', ...ask }, 2],
  ])('%s', async (_name, path, body, copies) => {
    const row = await billed(path, body);
    expect(row).toMatchObject({ billable: 1, outcome: 'ok' });
    // LONG is ~2,000 tokens; each copy of it generated is billed.
    expect(Number(row.output_tokens)).toBeGreaterThanOrEqual(copies * 1_500);
    expect(Number(row.cost_nanousd)).toBeGreaterThan(0);
  });

  it('a tool call is billed the same whether it was streamed or not', async () => {
    const whole = await billed('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask });
    const streamed = await billed('/v1/chat/completions', { model: 'gpt-4o-mini', ...ask, stream: true });
    expect(streamed.streamed).toBe(1);
    expect(whole.output_tokens).toBe(streamed.output_tokens);
  });
});
