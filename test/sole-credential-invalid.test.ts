import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type Delivery, startWebhookReceiver } from './harness/webhook-receiver.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';

// A provider with one key (the common setup) whose key was revoked at the provider: every request got the provider's
// 401, and nothing was audited, no webhook fired, /metrics said nothing, since a 401 disables a key only when another
// key of the provider is let through for the same request (a witness), and a sole key has none. Now a 401 the
// provider's error object says is about the key itself (provesCredentialInvalid) is reported once while it lasts; the
// key stays in use, and a 401 a client's request can bring about reports nothing.

const ORG = '/v1/organization';
const FILE_KEY = 'sk-sole-file-0000';
const ANT_KEY = 'sk-ant-sole-0000';
const RT_KEY = 'sk-sole-runtime-0123456789abcdef0000';
const POOL_KEYS = { POOL_A: 'sk-pool-a-0000', POOL_B: 'sk-pool-b-0000', POOL_C: 'sk-pool-c-0000' };

interface Up {
  server: Server;
  url: string;
  /** Keys the provider takes now. */
  valid: Set<string>;
  /** Every request's headers. */
  seen: IncomingMessage['headers'][];
}

/**
 * An OpenAI and Anthropic provider in one. For a valid key it answers some requests 401 as the real providers do for
 * what the request asks: a model outside a restricted key's scopes, a message quoting the model name a client chose,
 * an OpenAI-Organization the key is not in (never reaches it: not forwarded), an Anthropic OAuth beta.
 */
async function startProvider(): Promise<Up> {
  const valid = new Set<string>();
  const seen: IncomingMessage['headers'][] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push(req.headers);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { model?: string };
    const json = (status: number, b: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(b));
    };
    if (req.url?.startsWith('/v1/messages')) {
      if (String(req.headers['anthropic-beta'] ?? '').includes('oauth')) return json(401, { type: 'error', error: { type: 'authentication_error', message: 'OAuth authentication is currently not supported.' } });
      if (!valid.has(String(req.headers['x-api-key']))) return json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      return json(200, { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } });
    }
    const err = (message: string, code: string | null) => json(401, { error: { message, type: 'invalid_request_error', param: null, code } });
    if (req.headers['openai-organization']) return err('OpenAI-Organization header should match organization for API key', 'mismatched_organization');
    if (!valid.has(String(req.headers.authorization).replace(/^Bearer /, ''))) return err('Incorrect API key provided: sk-sole****0000.', 'invalid_api_key');
    if (body.model?.startsWith('scoped-')) return err('You have insufficient permissions for this operation. Missing scopes: model.request.', null);
    if (body.model?.startsWith('echo-')) return err(`Incorrect API key provided: ${body.model}`, null);
    json(200, { id: 'c', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, valid, seen };
}

describeEachDatabase('a sole credential the provider says is invalid is reported once', (backend) => {
  let up: Up;
  let t: TestServer;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let client: OpenAI;
  let projectKey: string;
  let hooked: Delivery[] = [];

  const failures = async (credential: string) => {
    const data = (await t.api('GET', `${ORG}/audit_logs?event_types=provider_credential.failed&limit=100`)).body.data as Array<Record<string, { credential: string; id?: string }>>;
    return data.map((e) => e['provider_credential.failed']).filter((d) => d.credential === credential).map(({ id: _, ...rest }) => rest);
  };
  const hooks = (credential: string) => hooked.filter((h) => h.type === 'provider_credential.failed' && h.data.credential === credential);
  const chat = (model: string, opts?: OpenAI.RequestOptions) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }, opts).then(() => 200, (e: { status?: number }) => e.status);
  const messages = (headers: Record<string, string> = {}) =>
    fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': projectKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'claude-sole', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
  /** The requests settle, and the reports they may have started are written and sent. */
  const settle = () => new Promise((r) => setTimeout(r, 300));

  beforeAll(async () => {
    up = await startProvider();
    up.valid.add(FILE_KEY).add(ANT_KEY);
    const file = gatewayConfigFile({
      providers: [
        { name: 'sole', base_url: up.url, api_key_env: 'SOLE_KEY' },
        { name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'ANT_KEY' },
        // POOL_B and POOL_C are picked before POOL_A nearly always (weight a million to 1).
        { name: 'pool', base_url: up.url, credentials: [{ api_key_env: 'POOL_A', weight: 1 }, { api_key_env: 'POOL_B', weight: 1_000_000 }, { api_key_env: 'POOL_C', weight: 1_000_000 }], max_attempts: 3 },
      ],
      routes: { 'claude-*': 'ant', 'pool-*': 'pool' },
      default_provider: 'sole',
    });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, SOLE_KEY: FILE_KEY, ANT_KEY, TOLLGATE_SECRET: 'sole-credential-test-secret-0123456789', ...POOL_KEYS } });
    hook = await startWebhookReceiver(t, ['provider_credential.failed']);
    hooked = hook.received;
    projectKey = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'sole' } })).body.value;
    client = new OpenAI({ apiKey: projectKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
    hook?.close();
  });

  it('401s a request brings about (scopes, a message quoting the model, an organization header, an OAuth beta) report nothing', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await chat('scoped-model')).toBe(502);
      expect(await chat('echo-invalid_api_key')).toBe(502);
      // OpenAI answers a wrong OpenAI-Organization 401 mismatched_organization: the header never reaches it (Tollgate
      // checks it against the key's own organization and project, and answers itself).
      expect(await chat('gpt-sole', { headers: { 'OpenAI-Organization': 'org-not-mine', 'OpenAI-Project': 'proj_not_mine' } })).not.toBe(502);
      expect((await messages({ 'anthropic-beta': 'oauth-2025-04-20' })).status).toBe(502);
    }
    expect(up.seen.some((h) => h['openai-organization'] !== undefined || h['openai-project'] !== undefined)).toBe(false);
    await settle();
    expect(await failures('SOLE_KEY')).toEqual([]);
    expect(await failures('ANT_KEY')).toEqual([]);
    expect(hooked).toEqual([]);
  });

  it("a sole key the provider calls invalid: one audit entry, one webhook and a metric however many requests, concurrent or not; the key stays in use", async () => {
    up.valid.delete(FILE_KEY);
    const first = await Promise.all(Array.from({ length: 20 }, () => chat('gpt-sole')));
    expect(first.every((s) => s === 502)).toBe(true);
    for (let i = 0; i < 50; i++) expect(await chat('gpt-sole')).toBe(502);
    await settle();
    expect(await failures('SOLE_KEY')).toEqual([{ provider: 'sole', credential: 'SOLE_KEY', status: 401, disabled: false }]);
    await waitFor(() => hooks('SOLE_KEY').length === 1);
    expect(hooks('SOLE_KEY')[0].data).toEqual({ provider: 'sole', credential: 'SOLE_KEY', status: 401, disabled: false });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_provider_credential_invalid\{provider="sole",credential="SOLE_KEY"\} 1/);
    expect(metrics).not.toContain(FILE_KEY);
  });

  it('once the key serves a request again the state clears, and a later failure reports again', async () => {
    up.valid.add(FILE_KEY);
    expect(await chat('gpt-sole')).toBe(200);
    expect(await (await fetch(`${t.url}/metrics`)).text()).not.toMatch(/tollgate_provider_credential_invalid\{provider="sole"/);
    up.valid.delete(FILE_KEY);
    for (let i = 0; i < 10; i++) expect(await chat('gpt-sole')).toBe(502);
    await settle();
    expect(await failures('SOLE_KEY')).toHaveLength(2);
    await waitFor(() => hooks('SOLE_KEY').length === 2);
    up.valid.add(FILE_KEY);
  });

  it("Anthropic's authentication_error 'invalid x-api-key' on /v1/messages: reported once, answered in Anthropic's shape", async () => {
    up.valid.delete(ANT_KEY);
    for (let i = 0; i < 20; i++) {
      const r = await messages();
      expect(r.status).toBe(502);
      expect(((await r.json()) as { type: string }).type).toBe('error');
    }
    await settle();
    expect(await failures('ANT_KEY')).toEqual([{ provider: 'ant', credential: 'ANT_KEY', status: 401, disabled: false }]);
    await waitFor(() => hooks('ANT_KEY').length === 1);
  });

  it('a runtime provider with one credential: reported once (not disabled); a rotation clears it, and a refused new key reports again', async () => {
    const p = await t.api('POST', `${ORG}/providers`, { body: { name: 'rt', kind: 'openai', base_url: up.url, model_prefixes: ['rt-'] } });
    expect(p.status).toBe(200);
    const c = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: RT_KEY } });
    expect(c.status).toBe(200);
    const id = c.body.id as string;
    await waitFor(async () => (await chat('rt-model')) === 502);
    for (let i = 0; i < 50; i++) expect(await chat('rt-model')).toBe(502);
    await settle();
    expect(await failures(id)).toEqual([{ provider: 'rt', credential: id, status: 401, disabled: false }]);
    await waitFor(() => hooks(id).length === 1);
    expect((await t.api('GET', `${ORG}/providers/${p.body.id}/credentials/${id}`)).body.status).toBe('active');

    const rotated = `${RT_KEY}-rotated`;
    expect((await t.api('POST', `${ORG}/providers/${p.body.id}/credentials/${id}/rotate`, { body: { value: rotated } })).status).toBe(200);
    await waitFor(async () => (await chat('rt-model')) === 502 && up.seen.at(-1)?.authorization === `Bearer ${rotated}`);
    for (let i = 0; i < 10; i++) expect(await chat('rt-model')).toBe(502);
    await settle();
    expect(await failures(id)).toHaveLength(2);
    await waitFor(() => hooks(id).length === 2);
    expect(hooked.filter((h) => h.type === 'provider_credential.failed')).toHaveLength(5);
  });

  it('several keys all refused alike: each reported once (not disabled); one the provider takes again serves, and witnesses the others, disabled and reported as before', async () => {
    for (let i = 0; i < 30; i++) expect(await chat('pool-model')).toBe(502);
    await settle();
    const names = Object.keys(POOL_KEYS);
    for (const id of names) {
      expect(await failures(id)).toEqual([{ provider: 'pool', credential: id, status: 401, disabled: false }]);
      await waitFor(() => hooks(id).length === 1);
    }
    let metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const id of names) {
      expect(metrics).toMatch(new RegExp(`tollgate_provider_credential_invalid\\{provider="pool",credential="${id}"\\} 1`));
      expect(metrics).toMatch(new RegExp(`tollgate_provider_credential_usable\\{provider="pool",credential="${id}"\\} 1`));
    }

    // POOL_A is taken again: the next request is refused on B and C, then served by A, which witnesses their refusals.
    up.valid.add(POOL_KEYS.POOL_A);
    up.seen.length = 0;
    expect(await chat('pool-model')).toBe(200);
    expect(up.seen.map((h) => h.authorization)).toEqual(expect.arrayContaining([`Bearer ${POOL_KEYS.POOL_B}`, `Bearer ${POOL_KEYS.POOL_C}`]));
    expect(up.seen.at(-1)?.authorization).toBe(`Bearer ${POOL_KEYS.POOL_A}`);
    await settle();
    expect(await failures('POOL_A')).toHaveLength(1);
    for (const id of ['POOL_B', 'POOL_C']) {
      expect(await failures(id)).toEqual([{ provider: 'pool', credential: id, status: 401 }, { provider: 'pool', credential: id, status: 401, disabled: false }]);
      await waitFor(() => hooks(id).length === 2);
      expect(hooks(id)[1].data).toEqual({ provider: 'pool', credential: id, status: 401 });
    }
    metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).not.toMatch(/tollgate_provider_credential_invalid\{provider="pool"/);
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pool",credential="POOL_A"\} 1/);
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pool",credential="POOL_B"\} 0/);
    expect(metrics).toMatch(/tollgate_provider_credential_usable\{provider="pool",credential="POOL_C"\} 0/);
    up.seen.length = 0;
    for (let i = 0; i < 5; i++) expect(await chat('pool-model')).toBe(200);
    expect(new Set(up.seen.map((h) => h.authorization))).toEqual(new Set([`Bearer ${POOL_KEYS.POOL_A}`]));
  });
});
