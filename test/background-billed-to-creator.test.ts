import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A background response is billed when it is first retrieved finished. Found by an outside review: it was billed to
// the key that retrieved it, not the one that created it. A key of the same project with a $0.10 hard cap (which may
// not create background responses itself) retrieved another key's and was billed $1.0025, ten times its cap, and the
// creator $0. The creator is billed; the project's and organization's budgets see the cost as before.

const ORG = '/v1/organization';

describeEachDatabase('a background response retrieved by another key of its project', (backend) => {
  let up: FakeUpstream;
  let t: TestServer;
  beforeAll(async () => {
    up = await startFakeUpstream();
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FK' }] }), FK: 'sk-up' } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json().catch(() => null), headers: r.headers };
  };

  it('is billed to the key that created it, not to a capped key that retrieved it', async () => {
    const a = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'unlimited' } })).body;
    const b = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'capped', spend_limit: { threshold_amount: 10, interval: 'month' } } })).body;
    expect((await call(b.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true })).status).toBe(403);
    const created = await call(a.value, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi', background: true });
    expect(created.status).toBe(200);
    let r = await call(b.value, 'GET', `/v1/responses/${created.body.id}`);
    for (let i = 0; i < 3 && r.body?.status !== 'completed'; i++) r = await call(b.value, 'GET', `/v1/responses/${created.body.id}`);
    expect(r.body?.status).toBe('completed');
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['api_key_id', 'project_id', 'cost_nanousd']).where('billable', '=', 1).execute();
    const byKey = (k: string) => rows.filter((x) => x.api_key_id === k).reduce((s, x) => s + Number(x.cost_nanousd), 0) / 1e9;
    expect(byKey(a.id)).toBeCloseTo(1.0025, 6);
    expect(byKey(b.id)).toBe(0);
    // The capped key spent nothing: its next call fits its cap.
    const next = await call(b.value, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    // The costs API names the creator.
    const costs = await t.api('GET', `${ORG}/costs?start_time=${Math.floor(Date.now() / 1000) - 2 * 86_400}&group_by=api_key_id&limit=7`);
    const results = (costs.body.data as Array<{ results: Array<{ api_key_id: string; amount: { value: number } }> }>).flatMap((d) => d.results);
    const cost = (k: string) => results.filter((x) => x.api_key_id === k).reduce((s, x) => s + x.amount.value, 0);
    expect(cost(a.id)).toBeCloseTo(1.0025, 6);
    expect(cost(b.id)).toBeLessThan(0.1);
  });
});
