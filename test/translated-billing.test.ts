import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayForBothKinds, type TestServer, usageEventsOf } from './harness/server.js';

// A translated answer is billed whether it translates or not: the provider ran the call. Found by an outside review:
// an OpenAI tool call cut off by max_tokens (its arguments no JSON object) failed the translation to an Anthropic message
// and was billed nothing, and a Claude tool input nested thousands deep overflowed the stack (500, billed nothing); a
// client could force the first at will (tool_choice and a tiny max_tokens). A later review found the cut-off call still
// a 502 where its stream was a 200: it is now translated as Anthropic ends an answer cut inside a tool call.

const ORG = '/v1/organization';
const INPUT = 1000;
const OUTPUT = 4000;

describe('a translated answer that cannot be translated is still billed', () => {
  let t: TestServer;
  let up: Server;
  /** What the OpenAI-shaped upstream answers as the tool call's arguments. */
  let toolArguments = '{"city": "Par';
  /** The depth of the Claude tool input the Anthropic-shaped upstream answers. */
  let inputDepth = 6000;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      for await (const _ of req);
      res.writeHead(200, { 'content-type': 'application/json' });
      if ((req.url ?? '').endsWith('/chat/completions')) {
        const message = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: toolArguments } }] };
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message, finish_reason: 'length' }], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } }));
        return;
      }
      const deep = `${'['.repeat(inputDepth)}${']'.repeat(inputDepth)}`;
      res.end(
        `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":${deep}}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":${INPUT},"output_tokens":${OUTPUT}}}`,
      );
    });
    t = await gatewayForBothKinds(up);
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async () => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body as { id: string; value: string };

  it.each([
    ['cut off by max_tokens', '{"city": "Par'],
    ['valid JSON but no object', '[1,2]'],
  ])('an Anthropic client calling an OpenAI model, its tool call %s: 200, the call with input {} and stop_reason max_tokens, billed', async (_what, args) => {
    // Was a 502 (billed) where the same answer streamed was a 200 with stop_reason max_tokens (found by an outside review).
    toolArguments = args;
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ name: 'f', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
        tool_choice: { type: 'tool', name: 'f' },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'message', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: {} }], stop_reason: 'max_tokens' });
    const [event] = await usageEventsOf(t, key.id);
    expect(event).toMatchObject({ billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 200, outcome: 'ok' });
    expect(Number(event.cost_nanousd)).toBeGreaterThan(0);
  });

  it('an Anthropic client calling an OpenAI model whose tool arguments nest too deep to translate: 502, billed the usage', async () => {
    toolArguments = `{"a":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'weather?' }], tools: [{ name: 'f', input_schema: { type: 'object' } }] }),
    });
    expect(res.status).toBe(502);
    expect((await res.json()).type).toBe('error');
    const [event] = await usageEventsOf(t, key.id);
    expect(event).toMatchObject({ billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 502, error_code: 'upstream_malformed' });
  });

  it('an OpenAI client calling a Claude model whose tool input is nested too deep to translate: 502, billed the usage', async () => {
    inputDepth = 6000;
    const key = await newKey();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 30000, messages: [{ role: 'user', content: 'go' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }),
    });
    expect(res.status).toBe(502);
    expect((await res.json()).error.type).toBeDefined();
    const [event] = await usageEventsOf(t, key.id);
    expect(event).toMatchObject({ billable: 1, input_tokens: INPUT, output_tokens: OUTPUT, status: 502 });
  });
});
