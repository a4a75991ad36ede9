import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Anthropic's Message Batches API (`/v1/messages/batches…`) forwarded to an Anthropic provider: every project's batches
// live in the one provider account, and a batch's results are every request's answer. Found by an outside review: a
// key of one project, even one restricted to `messages` (the scope /v1/messages needs), listed every project's
// batches and read, cancelled or deleted any of them. Each batch is now its creator's project's, as OpenAI's are.

const ORG = '/v1/organization';
const VERSION = { 'anthropic-version': '2023-06-01' };

interface Batch {
  id: string;
  type: 'message_batch';
  processing_status: string;
  created_at: string;
  results_url: string | null;
}

/** A fake of Anthropic's Message Batches API: creates, lists newest first (after_id/before_id, limit), reads, results, cancels, deletes. */
async function startBatches(): Promise<{ server: Server; url: string; batches: Batch[]; seen: string[] }> {
  const batches: Batch[] = [];
  const seen: string[] = [];
  let seq = 0;
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const notFound = () => json(404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
    if (req.headers['x-api-key'] !== 'sk-ant-provider') return json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[1] !== 'messages' || parts[2] !== 'batches') return notFound();
    if (parts.length === 3 && req.method === 'POST') {
      seq++;
      const id = `msgbatch_${String(seq).padStart(4, '0')}`;
      // Ended at once, its results at the provider's own address, as Anthropic names them.
      const b: Batch = { id, type: 'message_batch', processing_status: 'ended', created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), results_url: `http://${req.headers.host}/v1/messages/batches/${id}/results` };
      batches.push(b);
      return json(200, b);
    }
    if (parts.length === 3 && req.method === 'GET') {
      const newest = [...batches].reverse();
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const after = url.searchParams.get('after_id');
      const start = after ? newest.findIndex((b) => b.id === after) + 1 : 0;
      const data = newest.slice(start, start + limit);
      return json(200, { data, has_more: start + limit < newest.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
    }
    const batch = batches.find((b) => b.id === parts[3]);
    if (!batch) return notFound();
    if (parts.length === 4 && req.method === 'GET') return json(200, batch);
    if (parts.length === 4 && req.method === 'DELETE') return json(200, { id: batch.id, type: 'message_batch_deleted' });
    if (parts[4] === 'cancel') return json(200, { ...batch, processing_status: 'canceling' });
    if (parts[4] === 'results') {
      res.writeHead(200, { 'content-type': 'application/x-jsonl' });
      return res.end(`${JSON.stringify({ custom_id: 'secret', result: { type: 'succeeded', message: { content: [{ type: 'text', text: `answer of ${batch.id}` }] } } })}\n`);
    }
    return notFound();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, batches, seen };
}

describeEachDatabase("Anthropic's message batches are their project's", (backend) => {
  let up: Awaited<ReturnType<typeof startBatches>>;
  let t: TestServer;
  let a: string;
  let aMessages: string;
  let b: string;
  const request = { custom_id: 'one', params: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] } };
  const client = (apiKey: string) => new Anthropic({ apiKey, baseURL: t.url, maxRetries: 0 });
  const call = (key: string, method: string, path: string) => t.api(method, path, { key, headers: VERSION, body: method === 'POST' ? {} : undefined });

  beforeAll(async () => {
    up = await startBatches();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-batches-')), 'tollgate.config.json');
    // The default provider speaks OpenAI's API (and is not there): requests in Anthropic's API that name no model (the
    // batches') go to the provider that speaks Anthropic's, not to the default.
    const openai = { name: 'oai', base_url: 'http://127.0.0.1:9/v1', api_key_env: 'ANT_KEY' };
    writeFileSync(file, JSON.stringify({ providers: [openai, { name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'ANT_KEY' }], default_provider: 'oai', routes: { 'claude-*': 'ant' } }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ANT_KEY: 'sk-ant-provider' } });
    const project = async (name: string) => (await t.api('POST', `${ORG}/projects`, { body: { name } })).body.id as string;
    const key = async (projectId: string, body: Record<string, unknown> = {}) => (await t.api('POST', `${ORG}/projects/${projectId}/api_keys`, { body: { name: 'k', ...body } })).body.value as string;
    const projectA = await project('A');
    const projectB = await project('B');
    a = await key(projectA);
    aMessages = await key(projectA, { permissions: { restricted: { messages: 'write' } } });
    b = await key(projectB);
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  it("lists only the caller's batches, page by page, and refuses another project's batch everywhere, before forwarding it", async () => {
    const theirs = await client(b).messages.batches.create({ requests: [request] });
    const mine1 = await client(a).messages.batches.create({ requests: [request] });
    await client(b).messages.batches.create({ requests: [request] });
    const mine2 = await client(aMessages).messages.batches.create({ requests: [request] });

    for (const key of [a, aMessages]) {
      const listed = [];
      for await (const batch of client(key).messages.batches.list({ limit: 1 })) listed.push(batch.id);
      expect(listed).toEqual([mine2.id, mine1.id]);
      expect((await client(key).messages.batches.retrieve(mine1.id)).id).toBe(mine1.id);

      const forwarded = up.seen.length;
      for (const [method, path] of [
        ['GET', `/v1/messages/batches/${theirs.id}`],
        ['GET', `/v1/messages/batches/${theirs.id}/results`],
        ['POST', `/v1/messages/batches/${theirs.id}/cancel`],
        ['DELETE', `/v1/messages/batches/${theirs.id}`],
        ['GET', `/v1/messages/batches?after_id=${theirs.id}`],
      ] as const) {
        const r = await call(key, method, path);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.error.type).toBe('not_found_error');
        expect(r.text).not.toContain('answer of');
      }
      expect(up.seen.length).toBe(forwarded);
    }
    // The creator still has it.
    expect((await call(b, 'GET', `/v1/messages/batches/${theirs.id}/results`)).text).toContain(`answer of ${theirs.id}`);
  });

  it("names the results on Tollgate, so the SDK reads them through it with the client's key, never at the provider", async () => {
    const mine = await client(a).messages.batches.create({ requests: [request] });
    expect((await client(a).messages.batches.retrieve(mine.id)).results_url).toBe(`/v1/messages/batches/${mine.id}/results`);
    const results = [];
    for await (const r of await client(a).messages.batches.results(mine.id)) results.push(r);
    expect(JSON.stringify(results)).toContain(`answer of ${mine.id}`);
    for await (const listed of client(a).messages.batches.list()) expect(listed.results_url).toBe(`/v1/messages/batches/${listed.id}/results`);
  });
});
