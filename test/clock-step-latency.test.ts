import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Durations are read off the wall clock, which an NTP step may move back while a request is out. Found by an outside
// review: the usage event's upstream_latency_ms and the upstream histogram's sum went negative (-5000, -5 s), and a
// Prometheus counter that falls breaks rate().

describe('a clock stepped back while a request is out', () => {
  let t: TestServer;
  let up: Server;
  let now = Date.parse('2026-06-01T12:00:00Z');

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      for await (const _ of req);
      now -= 5000;
      res.writeHead(200, { 'content-type': 'application/json' });
      const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({ providers: [{ name: 'u', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'U_KEY' }], default_provider: 'u' });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, U_KEY: 'sk-u-0000' }, clock: () => now });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  it('records no negative duration, in the usage event or the upstream histogram', async () => {
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'step' } })).body as { id: string; value: string };
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const [row] = await usageEventsOf(t, key.id);
    expect(Number(row.latency_ms)).toBeGreaterThanOrEqual(0);
    expect(Number(row.upstream_latency_ms)).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const sums = metrics.split('\n').filter((l) => l.startsWith('tollgate_upstream_duration_seconds_sum'));
    expect(sums.length).toBeGreaterThan(0);
    for (const l of sums) expect(Number(l.split(' ').pop()), l).toBeGreaterThanOrEqual(0);
  });
});
