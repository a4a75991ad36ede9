import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Delivery, startWebhookReceiver } from './harness/webhook-receiver.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// A provider's answer of 401/403 disables the credential it was sent with, for every request (issue 20 §3). Found by
// an outside review: a client chooses what it asks for, and a provider refuses some requests whatever the key — OpenAI
// answers 403 to its billing endpoints called with any API key ("must be made with a session key"), and 401 "Missing
// scopes" to a restricted provider key outside its scopes, Anthropic 403 permission_error to a resource the account may
// not use. One such request from any read-only key disabled every key of the provider: every project's requests failed.
// Only a refusal of the credential itself (a 401 that names no missing permission or scope) disables it now; a 403 (or
// a 401 about permissions) where another key is let through sets the key aside for that model on that endpoint only.

const ORG = '/v1/organization';
const GOOD = ['sk-prov-aaaa-0000', 'sk-prov-bbbb-0000'];
/** A key the provider refuses with a 403 whatever is asked (its organization deactivated, say). */
const BANNED = 'sk-prov-banned-0000';

interface Up {
  server: Server;
  url: string;
  seen: string[];
}

/** An OpenAI-compatible provider that knows two keys, refuses its billing endpoint and a scope to every key, and 401s any other key. */
async function startProvider(): Promise<Up> {
  const seen: string[] = [];
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    seen.push(`${req.method} ${req.url} ${key}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (key === BANNED) return json(403, { error: { message: 'This organization has been deactivated.', type: 'invalid_request_error', param: null, code: 'permission_denied' } });
    if (!GOOD.includes(key)) return json(401, { error: { message: 'Incorrect API key provided: sk-prov-****0000.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    if (path.startsWith('/v1/dashboard/')) {
      return json(403, { error: { message: `Your request to GET ${path} must be made with a session key (that is, it can only be made from the browser). You made it with the following key type: secret.`, type: 'invalid_request_error', param: null, code: null } });
    }
    if (path.startsWith('/v1/fine_tuning')) {
      return json(401, { error: { message: 'You have insufficient permissions for this operation. Missing scopes: api.fine_tuning.jobs.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you\'re using a restricted API key, that it has the necessary scopes.', type: 'invalid_request_error', param: null, code: null } });
    }
    // A path the client chose that the server refuses every API key with a 401 naming no permission (an endpoint
    // that takes another kind of key, a proxy in front of the server refusing the path).
    if (path.startsWith('/v1/keys')) return json(401, { error: { message: 'Unauthorized.', type: 'invalid_request_error', param: null, code: null } });
    if (path.startsWith('/v1/containers')) {
      return json(403, { error: { message: 'Project proj_abc does not have access to this resource.', type: 'invalid_request_error', param: null, code: 'permission_denied' } });
    }
    json(200, { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
}

describe("a request the provider refuses whatever the key does not disable the provider's keys", () => {
  let up: Up;
  let t: TestServer;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let hooked: Delivery[] = [];
  let full: string;
  let readOnly: string;
  const chat = (key: string) => t.api('POST', '/v1/chat/completions', { key, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } });

  beforeAll(async () => {
    up = await startProvider();
    const file = gatewayConfigFile({
      providers: [{ name: 'pooled', base_url: up.url, credentials: [{ api_key_env: 'PROV_A' }, { api_key_env: 'PROV_B' }, { api_key_env: 'PROV_REVOKED' }, { api_key_env: 'PROV_BANNED' }], max_attempts: 4 }],
      default_provider: 'pooled',
      // Paths outside the APIs are forwarded only so listed (docs/gateway-paths.md): here, paths every key is refused.
      pass_through_paths: ['/v1/dashboard', '/v1/keys'],
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, PROV_A: GOOD[0], PROV_B: GOOD[1], PROV_REVOKED: 'sk-prov-revoked-0000', PROV_BANNED: BANNED } });
    hook = await startWebhookReceiver(t, ['provider_credential.set_aside']);
    hooked = hook.received;
    full = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'full' } })).body.value;
    readOnly = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'ro', permissions: 'read_only' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
    hook?.close();
  });

  it('refusals of the request (403, a 401 naming missing scopes) are answered, and every key stays in use', async () => {
    for (let i = 0; i < 5; i++) {
      for (const [key, path] of [
        [readOnly, '/v1/dashboard/billing/usage'],
        // Its words quote the path: no wording a client can put in it disables a key.
        [readOnly, '/v1/dashboard/api-key-revoked'],
        [readOnly, '/v1/fine_tuning/jobs'],
        [full, '/v1/containers'],
      ] as const) {
        const r = await t.api('GET', path, { key });
        expect(r.status, path).toBe(502);
        expect(r.body.error.code).toBe('upstream_auth_failed');
      }
    }
    for (let i = 0; i < 20; i++) expect((await chat(full)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const variable of ['PROV_A', 'PROV_B']) expect(metrics, variable).toMatch(new RegExp(`tollgate_provider_credential_usable\\{provider="pooled",credential="${variable}"\\} 1`));
  });

  it('a 401 every key gets for the request a client chose disables no key: the request is refused, not the keys', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await t.api('GET', '/v1/keys', { key: readOnly });
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('upstream_auth_failed');
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const variable of ['PROV_A', 'PROV_B']) expect(metrics, variable).toMatch(new RegExp(`tollgate_provider_credential_usable\\{provider="pooled",credential="${variable}"\\} 1`));
    const failed = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed`)).body.data as Array<Record<string, { credential: string }>>;
    // (The revoked key may be disabled already: the chats above let another key through after its 401.)
    for (const variable of ['PROV_A', 'PROV_B']) expect(failed.map((e) => e['provider_credential.failed'].credential)).not.toContain(variable);
    for (let i = 0; i < 10; i++) expect((await chat(full)).status).toBe(200);
  });

  it('a key refused with a 403 where another key of the provider is let through is set aside for that model, and routed around', async () => {
    // Every chat request is answered: one that went to the banned key first moved on to another, which answered.
    for (let i = 0; i < 30; i++) expect((await chat(full)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_provider_credential_set_asides_total\{provider="pooled",credential="PROV_BANNED"\} 1/);
    // Not disabled, nor reported as failed: a 403 may refuse only what was asked (docs/providers.md).
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pooled",credential="PROV_BANNED"\} 1/);
    const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed`)).body.data as Array<Record<string, { credential: string; status: number }>>;
    expect(audit.map((e) => e['provider_credential.failed'].credential)).not.toContain('PROV_BANNED');
    // Set aside for this model, it is tried for it no more.
    const before = up.seen.filter((s) => s.endsWith(BANNED)).length;
    for (let i = 0; i < 10; i++) expect((await chat(full)).status).toBe(200);
    expect(up.seen.filter((s) => s.endsWith(BANNED)).length).toBe(before);
    // Reported, once: an audit entry and the organization's webhooks, so that a key refused everything is seen.
    const reported = { provider: 'pooled', credential: 'PROV_BANNED', status: 403, scope: 'POST /chat/completions gpt-4o-mini', for_seconds: 3600, earlier_unreported: 0 };
    const setAsides = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.set_aside`)).body.data as Array<Record<string, unknown>>;
    expect(setAsides.map((e) => e['provider_credential.set_aside'])).toEqual([{ id: 'PROV_BANNED', ...reported }]);
    expect(JSON.stringify(setAsides)).not.toContain('sk-prov');
    const deadline = performance.now() + 5000;
    while (hooked.length < 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(hooked.map((e) => [e.type, e.data])).toEqual([['provider_credential.set_aside', reported]]);
  });

  it('a client naming a new model per request cannot turn each set-aside into an audit entry and a webhook', async () => {
    // The provider serves any model name with its good keys: each made-up model the banned key is tried for sets it
    // aside for that model. 60 models: the banned key is tried first for some (one chance in three each; for fewer
    // than three of 60, about one in a hundred million).
    for (let i = 0; i < 60; i++) {
      const r = await t.api('POST', '/v1/chat/completions', { key: full, body: { model: `gpt-made-up-${i}`, messages: [{ role: 'user', content: 'hi' }] } });
      expect(r.status).toBe(200);
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const count = Number(/tollgate_provider_credential_set_asides_total\{provider="pooled",credential="PROV_BANNED"\} (\d+)/.exec(metrics)?.[1]);
    expect(count).toBeGreaterThan(2);
    // Reported at most once a minute per key: still the one report of the test before.
    const setAsides = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.set_aside`)).body.data;
    expect(setAsides).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(hooked).toHaveLength(1);
  });

  it('a key the provider says is wrong is still disabled, and requests go on with the others', async () => {
    for (let i = 0; i < 30; i++) expect((await chat(full)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pooled",credential="PROV_REVOKED"\} 0/);
  });
});

// Operators pool keys of unequal reach: key A may use every model, key B only some. A request for a model B may not
// use got a 403 on B and succeeded on A, and B was disabled for everything, though it served the other models well.
describe('a pool of keys of unequal reach: a key refused one model keeps serving the others', () => {
  const WIDE = 'sk-prov-wide-0000';
  const NARROW = 'sk-prov-narrow-0000';
  let up: Up;
  let t: TestServer;
  let key: string;
  let now = Date.UTC(2026, 0, 1);
  const ask = (model: string, path = '/v1/chat/completions') =>
    t.api('POST', path, { key, body: path.endsWith('embeddings') ? { model, input: 'hi' } : { model, messages: [{ role: 'user', content: 'hi' }] } });
  /** The keys the provider saw asked for `model` since `from`. */
  const keysFor = (model: string, from: number) => up.seen.slice(from).filter((s) => s.includes(` ${model} `)).map((s) => s.split(' ').at(-1));

  beforeAll(async () => {
    const seen: string[] = [];
    const server = createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      const model = String(JSON.parse(raw || '{}').model ?? '');
      seen.push(`${req.method} ${req.url} ${model} ${key}`);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (key !== WIDE && key !== NARROW) return json(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      // OpenAI's answer to a project key whose project may not use the model.
      if (key === NARROW && model === 'model-x') {
        return json(403, { error: { message: 'Project `proj_narrow` does not have access to model `model-x`', type: 'invalid_request_error', param: null, code: 'model_not_found' } });
      }
      json(200, { id: 'c', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    up = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
    const file = gatewayConfigFile({
      // The narrow key is picked first nearly always (weight a million to 1) wherever it is usable.
      providers: [{ name: 'pooled', base_url: up.url, credentials: [{ api_key_env: 'PROV_WIDE', weight: 1 }, { api_key_env: 'PROV_NARROW', weight: 1_000_000 }], refusal_cool_down_ms: 600_000 }],
      default_provider: 'pooled',
    });
    t = await startTestServer({ name: 'sqlite' }, { clock: () => now, env: { TOLLGATE_CONFIG: file, PROV_WIDE: WIDE, PROV_NARROW: NARROW } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'app' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  it('a request for the model the narrow key may not use is served by the wide one; the narrow key then skips that model only', async () => {
    let from = up.seen.length;
    expect((await ask('model-x')).status).toBe(200);
    expect(keysFor('model-x', from)).toEqual([NARROW, WIDE]);

    // The other model still goes to the narrow key, by its weight.
    from = up.seen.length;
    for (let i = 0; i < 20; i++) expect((await ask('model-y')).status).toBe(200);
    const y = keysFor('model-y', from);
    expect(y.filter((k) => k === NARROW).length).toBeGreaterThanOrEqual(18);

    // The refused model no longer tries the narrow key first: straight to the wide one.
    from = up.seen.length;
    for (let i = 0; i < 10; i++) expect((await ask('model-x')).status).toBe(200);
    expect(keysFor('model-x', from)).toEqual(Array(10).fill(WIDE));

    // The narrow key is neither disabled nor reported as failed.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pooled",credential="PROV_NARROW"\} 1/);
    expect(metrics).toMatch(/tollgate_provider_credential_set_asides_total\{provider="pooled",credential="PROV_NARROW"\} 1/);
    const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed`)).body.data;
    expect(audit).toEqual([]);
  });

  it('the same model on another endpoint is its own case, and the refused model is tried on the narrow key again after the cool-down', async () => {
    let from = up.seen.length;
    expect((await ask('model-y', '/v1/embeddings')).status).toBe(200);
    expect(keysFor('model-y', from)).toEqual([NARROW]);
    now += 600_000;
    from = up.seen.length;
    expect((await ask('model-x')).status).toBe(200);
    expect(keysFor('model-x', from)).toEqual([NARROW, WIDE]);
    // Refused again with the wide key let through: set aside again.
    from = up.seen.length;
    for (let i = 0; i < 5; i++) expect((await ask('model-x')).status).toBe(200);
    expect(keysFor('model-x', from)).toEqual(Array(5).fill(WIDE));
  });
});
