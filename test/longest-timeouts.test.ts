import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A config-file timeout past Node's longest timer (2^31-1 ms) loaded, and the timer fired after 1 ms
// (TimeoutOverflowWarning): with first_byte_ms 3000000000 every whole answer was 504 after ~30 ms while the upstream
// call went on and was billed (found by review). Such a value is refused at start; the longest allowed one works.

const LONGEST = 2 ** 31 - 1;
/** When the upstream answers: long past 1 ms, well within any real timeout. */
const ANSWER_MS = 300;

describe('config-file timeouts at the longest Node timer', () => {
  let up: Server;
  let url: string;
  let t: TestServer | undefined;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const { model } = JSON.parse(text) as { model: string };
      await new Promise((r) => setTimeout(r, ANSWER_MS));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'in time', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      );
    });
    url = `${await listenOnLoopback(up)}/v1`;
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const start = (timeouts: Record<string, number>, top: Record<string, number> = {}) =>
    startTestServer({ name: 'sqlite' }, {
      env: { TOLLGATE_CONFIG: gatewayConfigFile({ providers: [{ name: 'up', base_url: url, api_key_env: 'UP_KEY', timeouts }], timeouts: top }), UP_KEY: 'sk-up-0000' },
    });

  it('refuses a timeout past it at start, naming the member', async () => {
    await expect(start({ first_byte_ms: 3_000_000_000 })).rejects.toThrow(/providers\.0\.timeouts\.first_byte_ms: milliseconds at most 2147483647 \(Node's longest timer\)/);
    await expect(start({}, { total_ms: LONGEST + 1 })).rejects.toThrow(/: timeouts\.total_ms: milliseconds at most 2147483647/);
  });

  it('answers a whole completion that takes its time under the longest allowed timeouts', async () => {
    t = await start({ connect_ms: LONGEST, first_byte_ms: LONGEST, total_ms: LONGEST });
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'long' } })).body as { value: string };
    const startedAt = performance.now();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBe('in time');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(ANSWER_MS - 50);
  });
});
