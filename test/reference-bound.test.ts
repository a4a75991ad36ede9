import Anthropic from '@anthropic-ai/sdk';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A hard spend cap under a burst of requests whose input the body names but does not carry. The cap reserved only
// what the body holds: a Responses call with the previous_response_id of a 250,000-token conversation, or an
// input_file by file_id of a large PDF, reserved a few cents and cost $0.31 (gpt-5 at $1.25/M input), so 100 of them
// at once spent $31 of a $10 cap. Such a request is now reserved at its model's largest input (272,000 for gpt-5).

const ORG = '/v1/organization';
/** Input tokens the provider reports for a request that names a stored conversation or file. */
const STORED_INPUT = 250_000;
/** Its cost: 250,000 input tokens at $1.25/M and 100 output tokens at $10/M. */
const BY_REFERENCE_NANO = STORED_INPUT * 1_250 + 100 * 10_000;
/** A Claude document by URL: 180,000 input tokens at Haiku 4.5's $1/M, 10 output tokens at $5/M. */
const DOCUMENT_INPUT = 180_000;

/** Whether a body names stored or fetched input (the fake provider bills it as the stored conversation's size). */
const namesStored = (body: Record<string, unknown>) => {
  const text = JSON.stringify(body);
  return text.includes('previous_response_id') || text.includes('file_id') || text.includes('"url"') || text.includes('item_reference');
};

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return req.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) : {};
}

describeEachDatabase('a hard spend cap under a burst of requests naming input by reference', (backend) => {
  let server: Server;
  let t: TestServer;
  let upstreamCalls = 0;
  let responseCount = 0;
  let owner: { id: string; value: string };
  const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  const spent = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select('cost_nanousd').where('api_key_id', '=', keyId).execute();
    return rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
  };
  const cappedKey = async () =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'capped', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body as {
      id: string;
      value: string;
    };
  /** Runs `calls` at once; the answered ones and the first refusal's error. */
  const burst = async (calls: Array<() => Promise<unknown>>) => {
    upstreamCalls = 0;
    const settled = await Promise.allSettled(calls.map((c) => c()));
    const refused = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason);
    for (const e of refused) expect(e, String(e)).toMatchObject({ status: 429 });
    return { ok: settled.length - refused.length, refusal: refused[0] as { error?: { code?: string; message?: string } } | undefined };
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await json(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/files') {
        res.end(JSON.stringify({ id: 'file-big', object: 'file', bytes: 9_000_000, created_at: 1, filename: 'big.pdf', purpose: 'user_data' }));
        return;
      }
      upstreamCalls++;
      // Slow enough that the whole burst is in flight at once.
      await new Promise((r) => setTimeout(r, 200));
      if (req.url === '/v1/messages') {
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [{ type: 'text', text: 'k' }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: namesStored(body) ? DOCUMENT_INPUT : 20, output_tokens: 10 },
          }),
        );
        return;
      }
      const input = namesStored(body) ? STORED_INPUT : 20;
      res.end(
        JSON.stringify({
          id: `resp_${++responseCount}`,
          object: 'response',
          created_at: 1,
          model: body.model,
          status: 'completed',
          output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'k', annotations: [] }] }],
          usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 100, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 100 },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const file = gatewayConfigFile({
      providers: [
        { name: 'up', base_url: url },
        { name: 'ant', kind: 'anthropic', base_url: url, api_key_env: 'ANT_KEY' },
      ],
      routes: { 'claude-*': 'ant' },
      default_provider: 'up',
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ANT_KEY: 'sk-ant-provider' } });
    // The stored conversation and file belong to the project (made with a key of its own, without a cap).
    owner = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'owner' } })).body;
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('100 calls at once with a previous_response_id never spend past a $10 key cap, and the refusal says why', async () => {
    const stored = await openai(owner.value).responses.create({ model: 'gpt-5', input: 'a long conversation', max_output_tokens: 100 });
    const key = await cappedKey();
    const client = openai(key.value);
    const { ok, refusal } = await burst(
      Array.from({ length: 100 }, () => () => client.responses.create({ model: 'gpt-5', input: 'and then?', previous_response_id: stored.id, max_output_tokens: 100 })),
    );
    expect(ok).toBe(upstreamCalls);
    // Each reserves gpt-5's 272,000 input tokens ($0.34) and its 100 output tokens: 29 fit in $10 at once (a few more
    // when the first are settled to their real cost before the last arrive). The old reservation let all 100 run.
    expect(ok).toBeGreaterThanOrEqual(29);
    expect(await spent(key.id)).toBe(ok * BY_REFERENCE_NANO);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
    expect(refusal?.error).toMatchObject({ code: 'api_key_spend_limit_exceeded' });
    expect(refusal?.error?.message).toMatch(/its input at the most 'gpt-5' can read, since it names input by reference/);
    expect(refusal?.error?.message).toMatch(/set max_tokens to reserve less, or use a model with a smaller context window/);
  });

  it('100 calls at once with an input_file by file_id, nested in a tool result, stay within the cap too', async () => {
    const uploaded = await openai(owner.value).files.create({ file: await toFile(Buffer.from('%PDF-1.7'), 'big.pdf'), purpose: 'user_data' });
    const key = await cappedKey();
    const client = openai(key.value);
    const call = (i: number) => () =>
      client.responses.create({
        model: 'gpt-5',
        max_output_tokens: 100,
        input:
          i % 2
            ? [{ role: 'user', content: [{ type: 'input_file', file_id: uploaded.id }, { type: 'input_text', text: 'summarise' }] }]
            : [
                { type: 'function_call', call_id: 'c1', name: 'read', arguments: '{}' },
                { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_file', file_id: uploaded.id }] },
              ],
      });
    const { ok } = await burst(Array.from({ length: 100 }, (_, i) => call(i)));
    expect(ok).toBe(upstreamCalls);
    expect(ok).toBeGreaterThanOrEqual(29);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
  });

  it('100 calls at once with an item reference spelt in another case stay within the cap too', async () => {
    // `{"Type": "item_reference", "ID": …}` is a reference to an upstream matching names without regard to case; read
    // in lower case only, it was reserved at its few bytes and all 100 ran ($31 of a $10 cap).
    await openai(owner.value).responses.create({ model: 'gpt-5', input: 'a long conversation', max_output_tokens: 100 }); // msg_1 is the project's
    const key = await cappedKey();
    const client = openai(key.value);
    const { ok, refusal } = await burst(
      Array.from({ length: 100 }, () => () => client.responses.create({ model: 'gpt-5', max_output_tokens: 100, input: [{ Type: 'item_reference', ID: 'msg_1' }] as never })),
    );
    expect(ok).toBe(upstreamCalls);
    expect(ok).toBeGreaterThanOrEqual(29);
    expect(ok).toBeLessThan(100);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
    expect(refusal?.error?.message).toMatch(/names input by reference/);
  });

  it('calls without references are reserved at their bodies as before: all 100 run at once', async () => {
    const key = await cappedKey();
    const client = openai(key.value);
    const { ok } = await burst(Array.from({ length: 100 }, () => () => client.responses.create({ model: 'gpt-5', input: 'hi', max_output_tokens: 100 })));
    expect(ok).toBe(100);
    expect(await spent(key.id)).toBe(100 * (20 * 1_250 + 100 * 10_000));
  });

  it('Claude documents by URL (@anthropic-ai/sdk): a burst never spends past a $10 key cap', async () => {
    const key = await cappedKey();
    const client = new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0, timeout: 15_000 });
    const { ok, refusal } = await burst(
      Array.from({ length: 100 }, () => () =>
        client.messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 10,
          messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/annual-report.pdf' } }, { type: 'text', text: 'summarise' }] }],
        }),
      ),
    );
    expect(ok).toBe(upstreamCalls);
    // Each reserves Haiku 4.5's 200,000 input tokens at $1/M ($0.20) and costs $0.18: 49 fit at once (100 ran before).
    expect(ok).toBeGreaterThanOrEqual(49);
    expect(ok).toBeLessThan(100);
    expect(await spent(key.id)).toBe(ok * (DOCUMENT_INPUT * 1_000 + 10 * 5_000));
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
    expect(JSON.stringify(refusal)).toMatch(/names input by reference/);
  });
});
