import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';

// Runtime provider changes racing the requests in flight (found by an outside review). A request still holding a key's
// old secret, or a pool replaced under it, must not undo what the operator just did.

const ORG = '/v1/organization';
const OLD = 'sk-race-old-secret-0123456789abcdef0000';
const NEW = 'sk-race-new-secret-0123456789abcdef1111';
const OTHER = 'sk-race-other-secret-0123456789abcdef2222';
const BUSY = 'sk-race-busy-secret-0123456789abcdef3333';
const QUOTED = 'gsk_race_quoted_secret_0123456789abcdef4444';
const SOLE = 'sk-race-sole-secret-0123456789abcdef5555';

interface Up {
  server: Server;
  url: string;
  keys: string[];
  /** Requests held (by their key) until released: each resolves with the status to answer. */
  held: Map<string, Array<(status: number) => void>>;
  hold: Set<string>;
}

/** An OpenAI-compatible provider: OLD is refused (401), BUSY rate limited (429); keys in `hold` wait to be released. */
async function startProvider(): Promise<Up> {
  const keys: string[] = [];
  const held = new Map<string, Array<(status: number) => void>>();
  const hold = new Set<string>();
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    keys.push(key);
    let status = key === OLD ? 401 : key === BUSY ? 429 : 200;
    if (hold.has(key)) {
      status = await new Promise<number>((resolve) => held.set(key, [...(held.get(key) ?? []), resolve]));
    }
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '30' } : {}) });
    if (status === 401) return res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
    // Some OpenAI-compatible servers quote the key they were sent in their errors.
    if (status === 400) return res.end(JSON.stringify({ error: { message: `This request is not valid for the key ${key}.`, type: 'invalid_request_error', param: null, code: null } }));
    if (status === 429) return res.end(JSON.stringify({ error: { message: 'Rate limit reached.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'race-model', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keys, held, hold };
}

describeEachDatabase('runtime provider changes racing requests in flight', (backend) => {
  let t: TestServer;
  let up: Up;
  let projectKey: string;
  const logs: string[] = [];
  const chat = (model: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  beforeAll(async () => {
    up = await startProvider();
    t = await startTestServer(backend, {
      env: { TOLLGATE_SECRET: 'runtime-provider-races-secret-0123456789' },
      logger: pino({ level: 'warn' }, { write: (line: string) => logs.push(line) }),
    });
    projectKey = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'races' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  it('a 401 to a key’s old secret, answered after the key was rotated, does not disable the rotated key', async () => {
    const p = await t.api('POST', `${ORG}/providers`, { body: { name: 'rotating', base_url: up.url, models: ['rot-model'] } });
    // The old secret is picked first (1000 to 1) and held by the provider until the rotation is done.
    const c = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: OLD, weight: 1000 } });
    await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: OTHER, weight: 1 } });
    up.hold.add(OLD);
    const inFlight = chat('rot-model');
    await waitFor(() => (up.held.get(OLD)?.length ?? 0) > 0);
    // The operator replaces the refused secret with a good one…
    const rotated = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/rotate`, { body: { value: NEW } });
    expect(rotated.body).toMatchObject({ status: 'active' });
    // …and only then does the provider refuse the old secret of the request still in flight.
    up.hold.delete(OLD);
    for (const release of up.held.get(OLD) ?? []) release(401);
    up.held.delete(OLD);
    await inFlight;
    // The refusal is judged (the gateway says so once it is), and the rotated key stays active, and is used.
    await waitFor(() => logs.some((l) => l.includes(c.body.id) && l.includes('rotated key stays in use')));
    expect((await t.api('GET', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}`)).body).toMatchObject({ status: 'active', disabled_reason: null });
    up.keys.length = 0;
    for (let i = 0; i < 3; i++) expect((await chat('rot-model')).status).toBe(200);
    expect(up.keys).toContain(NEW);
    await t.api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('a 401 invalid_api_key to a sole key’s old secret, answered after the key was rotated, reports nothing', async () => {
    const db = t.server.runtime.database.db;
    const p = await t.api('POST', `${ORG}/providers`, { body: { name: 'sole-rotating', base_url: up.url, models: ['sole-rot-model'] } });
    const c = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: SOLE } });
    up.hold.add(SOLE);
    const inFlight = chat('sole-rot-model');
    await waitFor(() => (up.held.get(SOLE)?.length ?? 0) > 0);
    expect((await t.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/rotate`, { body: { value: NEW } })).status).toBe(200);
    // The provider says the old secret is invalid only now: no other key to witness it, so it would be reported.
    up.hold.delete(SOLE);
    for (const release of up.held.get(SOLE) ?? []) release(401);
    up.held.delete(SOLE);
    expect((await inFlight).status).toBe(502);
    // Judged (logged either way), then whatever report it started has had time to be written.
    await waitFor(() => logs.some((l) => l.includes(c.body.id) && (l.includes('is invalid: not reported') || l.includes('PROVIDER SAYS A CREDENTIAL IS INVALID'))));
    await new Promise((r) => setTimeout(r, 300));
    // No audit entry (its webhook is sent only after it is written), and the rotated key serves.
    expect(await db.selectFrom('audit_logs').select('id').where('type', '=', 'provider_credential.failed').where('object_id', '=', c.body.id).execute()).toEqual([]);
    expect((await chat('sole-rot-model')).status).toBe(200);
    await t.api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('a request in flight when its provider changed still moves on to the next key (the replaced pool is closed only once it is done)', async () => {
    const p = await t.api('POST', `${ORG}/providers`, { body: { name: 'changing', base_url: up.url, models: ['chg-model'] } });
    // The rate-limited key is picked first (1000 to 1); its 429 is held until the provider was changed.
    await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: BUSY, weight: 1000 } });
    await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: OTHER, weight: 1 } });
    up.hold.add(BUSY);
    const inFlight = chat('chg-model');
    await waitFor(() => (up.held.get(BUSY)?.length ?? 0) > 0);
    // Any change to the provider replaces its upstream (a new pool for its new settings).
    expect((await t.api('POST', `${ORG}/providers/${p.body.id}`, { body: { models: ['chg-model', 'chg-other'] } })).status).toBe(200);
    up.hold.delete(BUSY);
    up.keys.length = 0;
    for (const release of up.held.get(BUSY) ?? []) release(429);
    up.held.delete(BUSY);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(up.keys).toEqual([OTHER]);
    await t.api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('writes racing a delete: what answers 404 wrote nothing, one deletion is one audit entry, and no key outlives its provider', async () => {
    const db = t.server.runtime.database.db;
    const audited = async (type: string, id: string) => (await db.selectFrom('audit_logs').select('id').where('type', '=', type).where('object_id', '=', id).execute()).length;
    for (let round = 0; round < 5; round++) {
      const p = await t.api('POST', `${ORG}/providers`, { body: { name: `racing-${round}`, base_url: up.url, models: [`racing-${round}`] } });
      const c = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: OTHER } });
      const cred = `${ORG}/providers/${p.body.id}/credentials/${c.body.id}`;
      const [rotated, disabled, deleted, deletedAgain] = await Promise.all([
        t.api('POST', `${cred}/rotate`, { body: { value: NEW } }),
        t.api('POST', `${cred}/disable`),
        t.api('DELETE', cred),
        t.api('DELETE', cred),
      ]);
      expect([deleted.status, deletedAgain.status].sort()).toEqual([200, 404]);
      expect(await audited('provider_credential.deleted', c.body.id)).toBe(1);
      expect(await audited('provider_credential.rotated', c.body.id)).toBe(rotated.status === 200 ? 1 : 0);
      expect(await audited('provider_credential.disabled', c.body.id)).toBe(disabled.status === 200 ? 1 : 0);
      expect([200, 404]).toContain(rotated.status);

      // A key added while its provider is deleted is refused, or deleted with it: never left stored under no provider.
      const [added, gone] = await Promise.all([
        t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: NEW } }),
        t.api('DELETE', `${ORG}/providers/${p.body.id}`),
      ]);
      expect(gone.status).toBe(200);
      expect([200, 404]).toContain(added.status);
      expect(await db.selectFrom('provider_credentials').select('id').where('provider_id', '=', p.body.id).execute()).toEqual([]);
      if (added.status === 404) expect(await db.selectFrom('audit_logs').select('id').where('type', '=', 'provider_credential.created').where('object_id', '!=', c.body.id).where('details', 'like', `%${p.body.id}%`).execute()).toEqual([]);
    }
  });

  it('a key replaced while a request was under way is still kept out of that request’s answer', async () => {
    const p = await t.api('POST', `${ORG}/providers`, { body: { name: 'quoting', base_url: up.url, models: ['quote-model'] } });
    const c = await t.api('POST', `${ORG}/providers/${p.body.id}/credentials`, { body: { value: QUOTED } });
    up.hold.add(QUOTED);
    const inFlight = chat('quote-model');
    await waitFor(() => (up.held.get(QUOTED)?.length ?? 0) > 0);
    await t.api('POST', `${ORG}/providers/${p.body.id}/credentials/${c.body.id}/rotate`, { body: { value: NEW } });
    up.hold.delete(QUOTED);
    for (const release of up.held.get(QUOTED) ?? []) release(400);
    up.held.delete(QUOTED);
    const res = await inFlight;
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('[provider key]');
    expect(text).not.toContain(QUOTED);
    await t.api('DELETE', `${ORG}/providers/${p.body.id}`);
  });

  it('an update racing a move of the provider does not put its old base URL back', async () => {
    for (let round = 0; round < 5; round++) {
      const p = await t.api('POST', `${ORG}/providers`, { body: { name: `moving-${round}`, base_url: 'https://before.example/v1' } });
      const [moved, other] = await Promise.all([
        t.api('POST', `${ORG}/providers/${p.body.id}`, { body: { base_url: 'https://after.example/v1' } }),
        t.api('POST', `${ORG}/providers/${p.body.id}`, { body: { models: [`m-${round}`] } }),
      ]);
      expect(moved.status).toBe(200);
      expect([200, 409]).toContain(other.status);
      expect((await t.api('GET', `${ORG}/providers/${p.body.id}`)).body.base_url).toBe('https://after.example/v1');
      await t.api('DELETE', `${ORG}/providers/${p.body.id}`);
    }
  });
});
