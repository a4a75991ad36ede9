import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from './harness/fake-anthropic-upstream.js';
import { ANTHROPIC_PROVIDER_KEY } from './harness/provider-servers.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Two keys for one provider, one of them refused by it (issue 20 §3): requests keep succeeding on the other, the
// refused one is disabled, and the operator learns of it once, by an audit entry and a signed webhook.

const ORG = '/v1/organization';

describe('a provider with two keys, one refused', () => {
  let up: FakeAnthropic;
  let t: TestServer;
  const got: string[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push(body);
      res.end('ok');
    });
  });

  beforeAll(async () => {
    up = await startFakeAnthropic(ANTHROPIC_PROVIDER_KEY);
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-creds-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [
          {
            name: 'anthropic',
            kind: 'anthropic',
            base_url: up.url,
            // The revoked key is picked first nearly always (weight 1000 to 1), until it is disabled.
            credentials: [
              { api_key_env: 'ANTHROPIC_KEY_REVOKED', weight: 1000 },
              { api_key_env: 'ANTHROPIC_KEY_GOOD', weight: 1 },
            ],
          },
        ],
      }),
    );
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, ANTHROPIC_KEY_REVOKED: 'sk-ant-api03-revoked-0000', ANTHROPIC_KEY_GOOD: ANTHROPIC_PROVIDER_KEY } });
    await t.api('POST', `${ORG}/webhooks`, { body: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, event_types: ['provider_credential.failed'] } });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
    hook.close();
  });

  it('answers every request on the good key, disables the refused one and reports it once', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'pool' } })).body;
    const client = new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0 });
    up.seen.length = 0;
    for (let i = 0; i < 5; i++) {
      const m = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
      expect(m.content).toHaveLength(1);
    }
    const keys = up.seen.map((s) => s.headers['x-api-key']);
    // Tried once (five draws at 1000 to 1 all missing it: about 1e-15), then never again.
    expect(keys.filter((k) => k === 'sk-ant-api03-revoked-0000')).toHaveLength(1);
    expect(keys.filter((k) => k === ANTHROPIC_PROVIDER_KEY)).toHaveLength(5);
    const deadline = performance.now() + 5000;
    while (got.length < 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(got.map((b) => JSON.parse(b))).toEqual([expect.objectContaining({ type: 'provider_credential.failed', data: { provider: 'anthropic', credential: 'ANTHROPIC_KEY_REVOKED', status: 401 } })]);
    const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed`)).body.data;
    expect(audit).toHaveLength(1);
    expect(audit[0]['provider_credential.failed']).toMatchObject({ id: 'ANTHROPIC_KEY_REVOKED', provider: 'anthropic', credential: 'ANTHROPIC_KEY_REVOKED', status: 401 });
    expect(JSON.stringify(audit)).not.toContain('sk-ant-api03');
  });

  it('records the credential that answered in each usage event, and counts attempts, cool-downs and latency per credential in /metrics, never the key', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'metrics' } })).body;
    const client = new Anthropic({ apiKey: key.value, baseURL: t.url, maxRetries: 0 });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).execute();
    expect(rows.map((r) => [r.provider, r.credential])).toEqual([['anthropic', 'ANTHROPIC_KEY_GOOD']]);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const value = (line: string) => Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ')[1]);
    expect(value('tollgate_provider_credential_attempts_total{provider="anthropic",credential="ANTHROPIC_KEY_REVOKED",result="refused"}')).toBe(1);
    expect(value('tollgate_provider_credential_attempts_total{provider="anthropic",credential="ANTHROPIC_KEY_GOOD",result="ok"}')).toBe(6);
    expect(value('tollgate_provider_credential_usable{provider="anthropic",credential="ANTHROPIC_KEY_REVOKED"}')).toBe(0);
    expect(value('tollgate_provider_credential_usable{provider="anthropic",credential="ANTHROPIC_KEY_GOOD"}')).toBe(1);
    expect(value('tollgate_provider_credential_cool_downs_total{provider="anthropic",credential="ANTHROPIC_KEY_GOOD"}')).toBe(0);
    expect(value('tollgate_upstream_duration_seconds_count{provider="anthropic",credential="ANTHROPIC_KEY_GOOD",outcome="ok"}')).toBe(6);
    expect(value('tollgate_provider_circuit_open{provider="anthropic"}')).toBe(0);
    expect(text).not.toContain('sk-ant-api03');
    expect(text).not.toContain(ANTHROPIC_PROVIDER_KEY);
  });
});
