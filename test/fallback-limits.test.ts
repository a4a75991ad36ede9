import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A route's fallback to another model (issue 20 §3) is one request of the key: it counts once against the key's RPM,
// RPD and request quota and the project's limits for every model (a key with one request left is not refused its
// fallback, nor charged two), while the fallback model's own limits are charged and refuse it when used up. Run on
// each database and on Redis, whose limit store decides in a script of its own.

const ORG = '/v1/organization';

/** An upstream that answers gpt-4.1-nano 429 and every other model a chat completion of 10 + 20 tokens. */
async function upstream(): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const { model } = JSON.parse(Buffer.concat(chunks).toString()) as { model: string };
    seen.push(model);
    if (model === 'gpt-4.1-nano') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: 'busy', type: 'requests', code: 'rate_limit_exceeded' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
}

function suite(backend: Backend, redisUrl?: string) {
  let up: Awaited<ReturnType<typeof upstream>>;
  let t: TestServer;
  const chat = (key: string, model = 'gpt-4.1-nano') =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 }),
    });
  const newKey = async (body: Record<string, unknown>, project = t.defaultProjectId): Promise<{ id: string; value: string }> =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'fallback', ...body } })).body;

  beforeAll(async () => {
    up = await upstream();
    const file = gatewayConfigFile({
      providers: [{ name: 'main', base_url: up.url, api_key_env: 'MAIN_KEY' }],
      routes: { 'gpt-4.1-nano': { provider: 'main', fallbacks: [{ model: 'gpt-4o' }] } },
      default_provider: 'main',
    });
    const env: Record<string, string> = { TOLLGATE_CONFIG: file, MAIN_KEY: 'sk-main-0000' };
    if (redisUrl) env.REDIS_URL = redisUrl;
    t = await startTestServer(backend, { env });
    // With Redis, the first requests wait until it is connected.
    for (let i = 0; i < 100 && (await fetch(`${t.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  it("answers a key's last request of the minute, day and quota from its fallback model, and counts it once", async () => {
    const key = await newKey({ rate_limits: { max_requests_per_1_minute: 2, max_requests_per_1_day: 2 }, request_quota: { max_requests: 2, interval: 'day' } });
    up.seen.length = 0;
    const first = await chat(key.value);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { model: string }).model).toBe('gpt-4o');
    expect(up.seen).toEqual(['gpt-4.1-nano', 'gpt-4o']);
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(first.headers.get('x-tollgate-remaining-requests-quota')).toBe('1');
    // The second request is the key's last: it too reaches its fallback.
    const second = await chat(key.value);
    expect(second.status).toBe(200);
    expect(((await second.json()) as { model: string }).model).toBe('gpt-4o');
    const third = await chat(key.value);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).toMatch(/^(rate_limit_exceeded|api_key_quota_exceeded)$/);
  });

  it("charges the fallback model's own project limit, and answers the first model's refusal once it is used up", async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: `fallback-${backend.name}-${redisUrl ? 'redis' : 'local'}` } })).body.id as string;
    expect((await t.api('POST', `${ORG}/projects/${project}/rate_limits`, { body: { model: 'gpt-4o', max_requests_per_1_minute: 1 } })).status).toBe(200);
    const key = await newKey({}, project);
    up.seen.length = 0;
    expect((await chat(key.value)).status).toBe(200);
    // gpt-4o's one request of the minute went to the fallback: the next fallback is refused, and the client gets
    // gpt-4.1-nano's own 429.
    const refused = await chat(key.value);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('busy');
    expect(up.seen).toEqual(['gpt-4.1-nano', 'gpt-4o', 'gpt-4.1-nano']);
    // And gpt-4o called directly is refused by the project's limit.
    const direct = await chat(key.value, 'gpt-4o');
    expect(direct.status).toBe(429);
    expect(((await direct.json()) as { error: { message: string } }).error.message).toMatch(/for gpt-4o on requests per min/);
  });
}

describeEachDatabase('fallback to another model under limits', (backend) => {
  suite(backend);
});

describeWithRedis('fallback to another model under limits', (redisUrl) => suite({ name: 'sqlite' }, redisUrl));
