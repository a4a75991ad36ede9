import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// A key pasted into the `model` field (a client's mix-up) was stored in full in usage_events.model and the rollups,
// which retention never deletes, and served back by the Usage API and the dashboard to anyone who reads usage; the
// refusal's message echoed it too. Found by a review of secrets at rest. Neither keeps nor echoes it now: it is
// redacted to its prefix and last four characters wherever a message or a usage record names it.

const ORG = '/v1/organization';

describe('a key sent as the model', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is neither stored, reported nor echoed in full', async () => {
    const restricted = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'r', allowed_models: ['tollgate-echo'] } })).body.value as string;
    const plain = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p' } })).body.value as string;
    const answers: string[] = [];
    for (const [key, model] of [
      [restricted, restricted],
      [plain, plain],
      [plain, `gpt-${t.adminKey}`],
    ]) {
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      answers.push(await res.text());
    }
    await t.server.gateway.usage.flush();
    const secrets = [restricted, plain, t.adminKey];
    for (const a of answers) for (const s of secrets) expect(a).not.toContain(s);
    const stored = JSON.stringify(await t.server.runtime.database.db.selectFrom('usage_events').select('model').execute());
    const rollups = JSON.stringify(await t.server.runtime.database.db.selectFrom('usage_rollups_1d').select('model').execute());
    const now = Math.floor(Date.now() / 1000);
    const usage = JSON.stringify((await t.api('GET', `${ORG}/usage/completions?start_time=${now - 86_400}&end_time=${now + 86_400}&group_by=model`)).body);
    for (const s of secrets) {
      expect(stored).not.toContain(s);
      expect(rollups).not.toContain(s);
      expect(usage).not.toContain(s);
    }
    // What is kept names the key by its redacted form.
    expect(stored).toContain(`sk-tg-…${plain.slice(-4)}`);
  });
});
