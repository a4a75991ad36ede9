import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// The built-in echo model under a project's spend limit (docs/metering.md, "Service tiers"): it costs nothing, at any
// tier, so a tier it answers is no reason to refuse it. A new user's walkthrough had `service_tier: "fast"` refused
// 403 endpoint_not_metered (with `param: null`, though the docs say the refusal names service_tier).

const ORG = '/v1/organization';
const MODEL = 'tollgate-echo';

describe('tollgate-echo under a spend limit', () => {
  let t: TestServer;
  let key: { id: string; value: string };

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    const limit = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/spend_limit`, { body: { threshold_amount: 500, currency: 'USD', interval: 'month' } });
    expect(limit.body).toMatchObject({ enforcement: { status: 'enforcing' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'budgeted', spend_limit: { threshold_amount: 100 } } })).body;
  });
  afterAll(async () => t?.close());

  it('answers every service tier it serves, billed at nothing', async () => {
    const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] };
    for (const service_tier of ['fast', 'priority', 'scale', 'flex']) {
      const r = await t.api('POST', '/v1/chat/completions', { key: key.value, body: { ...chat, service_tier } });
      expect(r.status, `${service_tier}: ${r.text}`).toBe(200);
    }
    const r = await t.api('POST', '/v1/responses', { key: key.value, body: { model: MODEL, input: 'hi', service_tier: 'ultrafast' } });
    expect(r.status, r.text).toBe(200);
    await t.server.gateway.usage.flush();
    const events = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).execute();
    expect(events.map((e) => [e.outcome, Number(e.cost_nanousd)])).toEqual(Array.from({ length: 5 }, () => ['ok', 0]));
  });
});
