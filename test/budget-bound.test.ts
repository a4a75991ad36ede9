import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 15 §8: a burst of concurrent calls cannot overshoot a hard spend cap. Each answer here costs $0.75 (12,500
// output tokens of a $60/M model); 100 calls at once against a $10 cap were all admitted when a call without
// max_tokens reserved only the configured default output.

const ORG = '/v1/organization';
const ANSWER_NANO = 12_500 * 60_000; // 12,500 tokens at $60 per 1M = $0.75
const AUDIO_SECONDS = 27;

describeEachDatabase('a hard spend cap under a burst', (backend) => {
  let server: Server;
  let t: TestServer;
  let upstreamCalls = 0;
  const chat = (key: string, extra: Record<string, unknown> = {}) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'o1', messages: [{ role: 'user', content: 'think hard' }], ...extra }),
    });
  const spent = async (keyId: string) => {
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select('cost_nanousd').where('api_key_id', '=', keyId).execute();
    return rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      for await (const _ of req);
      upstreamCalls++;
      // Slow enough that the whole burst is in flight at once.
      await new Promise((r) => setTimeout(r, 200));
      res.writeHead(200, { 'content-type': 'application/json' });
      // A transcription of AUDIO_SECONDS, what 20 KB of Opus at 6 kbit/s holds.
      if ((req.url ?? '').includes('/audio/')) return res.end(JSON.stringify({ text: 'hello', usage: { type: 'duration', seconds: AUDIO_SECONDS } }));
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'o1', choices: [], usage: { prompt_tokens: 0, completion_tokens: 12_500, total_tokens: 12_500 } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-bound-')), 'tollgate.config.json');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: url }], pricing: { o1: { input: 15, output: 60 }, 'whisper-1': { minutes: 0.006 } } }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file } });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('100 calls at once without max_tokens never spend past a $10 key cap, and the refusal says how to reserve less', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'b', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body;
    upstreamCalls = 0;
    const results = await Promise.all(Array.from({ length: 100 }, () => chat(key.value)));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBe(upstreamCalls);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
    const refused = await results.find((r) => r.status === 429)!.json();
    expect(refused.error).toMatchObject({ type: 'insufficient_quota', code: 'api_key_spend_limit_exceeded' });
    expect(refused.error.message).toMatch(/set max_tokens to reserve less/);
  });

  it('50 transcriptions at once of sparse audio (Opus at 6 kbit/s) never spend past the cap', async () => {
    // Found by an outside review: reserved as 16 kbit/s audio, 9 of them ran against a $0.01 cap and spent $0.0243.
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'a', spend_limit: { threshold_amount: 1, interval: 'month' } } })).body;
    const upload = () => {
      const form = new FormData();
      form.append('model', 'whisper-1');
      form.append('file', new Blob([Buffer.alloc(20_000, 1)], { type: 'audio/webm' }), 'speech.webm');
      return fetch(`${t.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key.value}` }, body: form });
    };
    upstreamCalls = 0;
    const results = await Promise.all(Array.from({ length: 50 }, upload));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBe(upstreamCalls);
    expect(await spent(key.id)).toBeLessThanOrEqual(0.01 * 1e9);
    const refused = await results.find((r) => r.status === 429)!.json();
    expect(refused.error.message).toContain('seconds of audio');
    expect(refused.error.message).not.toContain('max_tokens');
  });

  it('with max_tokens declared, as many calls as fit the cap run at once, and no more', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'b', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body;
    upstreamCalls = 0;
    const results = await Promise.all(Array.from({ length: 100 }, () => chat(key.value, { max_completion_tokens: 12_500 })));
    const ok = results.filter((r) => r.status === 200).length;
    // Each reserves $0.75 and a few input tokens: 13 fit in $10 at once (13 × 0.75 = 9.75).
    expect(ok).toBe(13);
    expect(await spent(key.id)).toBe(13 * ANSWER_NANO);
  });

  it('best_of candidates and a second, larger output limit are reserved too: a burst of them stays within the cap', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'b', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body;
    const completion = (body: Record<string, unknown>) =>
      fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'o1', prompt: 'x', ...body }) });
    // Each answer bills 12,500 tokens: 5 candidates of 2,500, or a max_tokens an OpenAI-compatible server honours.
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => completion(i % 2 ? { max_tokens: 2_500, best_of: 5 } : { max_completion_tokens: 1, max_tokens: 12_500 })));
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
  });

  it('an array of prompts is reserved for each: a burst of them stays within the cap', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'b', spend_limit: { threshold_amount: 1000, interval: 'month' } } })).body;
    const completion = (prompt: unknown) =>
      fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'o1', prompt, max_tokens: 2_500 }) });
    // Each answer bills 12,500 tokens: 2,500 for each of 5 prompts (strings, or token arrays); each was reserved as one
    // prompt's $0.15, so 66 ran at once ($49.50 against the $10 cap).
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => completion(i % 2 ? ['a', 'b', 'c', 'd', 'e'] : [[1], [2], [3], [4], [5]])));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(await spent(key.id)).toBeLessThanOrEqual(10 * 1e9);
  });

  it('a project cap holds the same way across its keys', async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'capped' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 1000, interval: 'month' } })).status).toBe(200);
    const keys = await Promise.all([1, 2, 3, 4].map(async () => (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'k' } })).body));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => chat(keys[i % 4].value)));
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    const total = (await Promise.all(keys.map((k) => spent(k.id)))).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(10 * 1e9);
  });
});
