import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A budget that refuses a request raises its alerts (every threshold it would have reached) on each refusal. Each asked
// the database (an insert into alerts_sent per threshold) whether it was raised already (found by a review: 200
// refused requests of an exhausted key made 600 inserts, on the event loop with SQLite). Now an instance remembers
// the claims it knows are written.

const ORG = '/v1/organization';

describe('budget alerts of an exhausted budget', () => {
  let t: TestServer;
  beforeAll(async () => {
    const file = gatewayConfigFile({ pricing: { 'tollgate-echo': { input: 1000, cached_input: 1000, output: 1000 } } });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file } });
  });
  afterAll(async () => t?.close());

  const chat = (key: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });

  it('are raised once each, and refused requests do not ask the database again', async () => {
    const db = t.server.runtime.database.db as unknown as { insertInto: (table: string) => unknown };
    let claims = 0;
    const insertInto = db.insertInto.bind(db);
    db.insertInto = (table: string) => {
      if (table === 'alerts_sent') claims++;
      return insertInto(table);
    };
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'x', spend_limit: { threshold_amount: 5, interval: 'month' } } })).body;
    let status = 200;
    for (let n = 0; status === 200 && n < 50; n++) status = (await chat(key.value)).status;
    expect(status).toBe(429);
    // The alerts of the refusal are raised (written) before the next requests.
    await new Promise((r) => setTimeout(r, 300));
    const before = claims;
    for (let i = 0; i < 100; i++) expect((await chat(key.value)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 300));
    expect(claims - before).toBe(0);
    const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=budget.threshold_crossed`)).body.data as unknown[];
    expect(audit).toHaveLength(3);
  });
});
