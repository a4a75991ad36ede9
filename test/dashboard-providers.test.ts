import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialStatusLabel, EMPTY_PROVIDER, providerBody, weightOf } from '../dashboard/src/pages/settings/provider-form.js';
import { describeEachDatabase } from './harness/backends.js';
import { type KeyedUpstream, startKeyedUpstream } from './harness/keyed-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { joinAs, type SessionClient, signUpOwner } from './harness/session-client.js';

// Settings → Providers: the calls the dashboard makes (api-client.ts) with an owner's session, what members get, and
// the form's body.

const ORG = '/v1/organization';
const KEY = 'sk-dashboard-provider-key-0123456789abcdefDASH';
const NEXT = 'sk-dashboard-provider-key-0123456789abcdefNEXT';

describe('provider form', () => {
  it('splits models into exact ids and prefixes (written with *), and leaves out what is empty', () => {
    expect(providerBody({ ...EMPTY_PROVIDER, name: ' groq ', baseUrl: 'https://api.groq.com/openai/v1 ', models: 'llama-3.1-8b, mixtral-* gemma2-9b-it' })).toEqual({
      name: 'groq',
      kind: 'openai',
      base_url: 'https://api.groq.com/openai/v1',
      models: ['llama-3.1-8b', 'gemma2-9b-it'],
      model_prefixes: ['mixtral-'],
    });
    expect(providerBody({ ...EMPTY_PROVIDER, name: 'az', kind: 'azure-openai', baseUrl: 'https://x', apiVersion: '2024-10-21' })).toEqual({
      name: 'az',
      kind: 'azure-openai',
      base_url: 'https://x',
      api_version: '2024-10-21',
    });
  });
  it('reads a weight, or none for the default, and refuses anything else', () => {
    expect(weightOf('2.5')).toEqual({ ok: true, weight: 2.5 });
    expect(weightOf(' 3 ')).toEqual({ ok: true, weight: 3 });
    expect(weightOf('.5')).toEqual({ ok: true, weight: 0.5 });
    expect(weightOf('')).toEqual({ ok: true, weight: null });
    // These were sent as the default weight (1), or "0x19" as 25 and "1e3" as 1000, without a word.
    for (const typed of ['0', 'x', '0x19', '1e3', '-1', '1,5', 'Infinity', '.']) {
      expect(weightOf(typed), typed).toEqual({ ok: false, message: 'The weight is a number above zero, such as 2 or 0.5; empty for 1.' });
    }
  });
  it('says why a key is disabled', () => {
    expect(credentialStatusLabel({ status: 'active', disabled_reason: null })).toBe('active');
    expect(credentialStatusLabel({ status: 'disabled', disabled_reason: 'manual' })).toBe('disabled');
    expect(credentialStatusLabel({ status: 'disabled', disabled_reason: 'upstream_refused' })).toBe('refused by provider');
    expect(credentialStatusLabel({ status: 'disabled', disabled_reason: 'undecryptable' })).toBe('cannot be decrypted: rotate it');
  });
});

describeEachDatabase('dashboard providers', (backend) => {
  let t: TestServer;
  let up: KeyedUpstream;
  let owner: SessionClient;
  let member: SessionClient;
  let reader: SessionClient;

  beforeAll(async () => {
    up = await startKeyedUpstream([KEY, NEXT]);
    t = await startTestServer(backend);
    owner = await signUpOwner(t);
    member = await joinAs(t, owner, 'member@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
    reader = await joinAs(t, owner, 'reader@example.com', 'reader');
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it("lets the owner's session add a provider and a key, rotate, disable, enable and delete, showing the key only redacted", async () => {
    const bodies: string[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await owner.call(method, path, body);
      bodies.push(JSON.stringify(res.body));
      return res;
    };
    const body = providerBody({ ...EMPTY_PROVIDER, name: 'dash', baseUrl: `${up.url}/v1`, models: 'dash-model' });
    const p = await call('POST', `${ORG}/providers`, body);
    expect(p.status).toBe(200);
    const c = await call('POST', `${ORG}/providers/${p.body.id}/credentials`, { value: KEY, weight: 2 });
    expect(c.body).toMatchObject({ redacted_value: 'sk-…DASH', weight: 2, status: 'active' });
    const path = `${ORG}/providers/${p.body.id}/credentials/${c.body.id}`;
    expect((await call('POST', `${path}/rotate`, { value: NEXT })).body.redacted_value).toBe('sk-…NEXT');
    expect((await call('POST', `${path}/disable`)).body.status).toBe('disabled');
    expect((await call('POST', `${path}/enable`)).body.status).toBe('active');
    const list = await call('GET', `${ORG}/providers/${p.body.id}/credentials?limit=100`);
    expect(list.body.data).toHaveLength(1);
    expect((await call('DELETE', path)).status).toBe(200);
    expect((await call('DELETE', `${ORG}/providers/${p.body.id}`)).status).toBe(200);
    expect(bodies.join('\n')).not.toContain(KEY.slice(0, 30));
    // The session's actor is on the audit entries.
    const audit = await call('GET', `${ORG}/audit_logs?event_types=provider_credential.created`);
    expect(audit.body.data[0].actor).toMatchObject({ type: 'session', session: { user: { email: 'owner@example.com' } } });
  });

  it('refuses members and readers, reads included, in the usual error shape', async () => {
    const p = await owner.call('POST', `${ORG}/providers`, { name: 'private', base_url: `${up.url}/v1` });
    for (const who of [member, reader]) {
      for (const [method, path, body] of [
        ['GET', `${ORG}/providers`],
        ['GET', `${ORG}/providers/${p.body.id}/credentials`],
        ['POST', `${ORG}/providers`, { name: 'mine', base_url: 'https://x.example' }],
        ['POST', `${ORG}/providers/${p.body.id}/credentials`, { value: KEY }],
      ] as const) {
        const res = await who.call(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error).toMatchObject({ type: expect.any(String), message: 'Only organization owners can see this.' });
      }
    }
    expect((await owner.call('GET', `${ORG}/providers/${p.body.id}/credentials`)).body.data).toEqual([]);
  });
});
