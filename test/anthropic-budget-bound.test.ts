import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A hard spend cap under a burst of Claude calls that write their prompt to Anthropic's cache (an outside review of
// the Messages API). The cap reserved each call's input at the model's input rate, but a prompt marked with
// `cache_control` is billed as cache writes: 1.25× input for 5 minutes, 2× for an hour. Ten calls at once, each
// reserving $0.30 of a $3 cap and costing $0.60, spent $6: twice the cap. A call that asks for caching now reserves its
// input at the dearest cache-write rate.

const ORG = '/v1/organization';
/** A prompt of 100,000 bytes, each byte a token (the most a byte-level tokenizer can make of it: the bound's premise). */
const PROMPT = 'x'.repeat(100_000);
const WRITE_1H_NANO = 100_000 * 6_000; // 100,000 tokens written for an hour at $6 per 1M (2× Sonnet's $3 input) = $0.60

describeEachDatabase("a hard spend cap under a burst of Anthropic's cache writes", (backend) => {
  let server: Server;
  let t: TestServer;
  let upstreamCalls = 0;
  const message = (key: string, cacheControl: Record<string, unknown>) =>
    fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT, cache_control: cacheControl }] }] }),
    });
  const spent = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select('cost_nanousd').where('api_key_id', '=', keyId).execute();
    return rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
  };
  const cappedKey = async () =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'c', spend_limit: { threshold_amount: 300, interval: 'month' } } })).body as { id: string; value: string };

  beforeAll(async () => {
    // Anthropic's answer to such a call: the whole prompt written to the cache, for the lifetime it asked.
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const block = body.messages[0].content[0];
      const written = Buffer.byteLength(block.text);
      const hour = block.cache_control?.ttl === '1h' ? written : 0;
      upstreamCalls++;
      // Slow enough that the whole burst is in flight at once.
      await new Promise((r) => setTimeout(r, 200));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [{ type: 'text', text: 'k' }],
          stop_reason: 'max_tokens',
          stop_sequence: null,
          usage: { input_tokens: 0, cache_creation_input_tokens: written, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: written - hour, ephemeral_1h_input_tokens: hour }, output_tokens: 1 },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'ANT_KEY' }], default_provider: 'ant' });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ANT_KEY: 'sk-ant-provider' } });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('prompts written to the cache for an hour: a burst never spends past a $3 key cap', async () => {
    const key = await cappedKey();
    upstreamCalls = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => message(key.value, { type: 'ephemeral', ttl: '1h' })));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBe(upstreamCalls);
    // Each reserves its 100,000-odd input tokens at $6/M: four fit in $3 at once.
    expect(ok).toBe(4);
    expect(await spent(key.id)).toBe(4 * (WRITE_1H_NANO + 15_000));
    expect(await spent(key.id)).toBeLessThanOrEqual(3 * 1e9);
  });

  it('prompts written to the cache for 5 minutes: the same', async () => {
    const key = await cappedKey();
    const results = await Promise.all(Array.from({ length: 20 }, () => message(key.value, { type: 'ephemeral' })));
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(await spent(key.id)).toBeLessThanOrEqual(3 * 1e9);
  });
});
