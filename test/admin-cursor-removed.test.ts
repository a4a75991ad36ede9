import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// An `after` (or `before`) cursor naming an item just removed from its list goes on from where that item was: OpenAI's
// SDKs page with the last id of the page before, so a loop that lists and deletes (`for a in
// org.spend_alerts.list(limit=1): org.spend_alerts.delete(a.id)`) asks for the page after a deleted item. An id that
// was never in the list (another project's, a made-up one) is still a 400, so no list tells of another's objects.

const ORG = '/v1/organization';
// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
type Json = Record<string, any>;

describeEachDatabase('a list cursor naming a removed item', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-cursor-removed-')), 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: 'http://127.0.0.1:9', auth: 'none', models: ['served'] }] }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, TOLLGATE_SECRET: 'cursor-removed-test-secret-0123456789' } });
  });
  afterAll(async () => t?.close());

  async function ok(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await t.api(method, path, { body });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).toBe(200);
    return res.body;
  }

  async function refusedCursor(path: string, param: 'after' | 'before' = 'after'): Promise<void> {
    const res = await t.api('GET', path);
    expect(res.status, `GET ${path}: ${res.text.slice(0, 400)}`).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_value', param });
  }

  /** Lists one at a time, deleting each item before asking for the page after it, as an SDK loop does. */
  async function listAndDelete(list: string, item: (id: string) => string): Promise<string[]> {
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 20; i++) {
      const page = await ok('GET', `${list}${list.includes('?') ? '&' : '?'}limit=1${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      seen.push(...page.data.map((x: Json) => x.id));
      for (const x of page.data) await ok('DELETE', item(x.id));
      if (!page.has_more) break;
      after = page.last_id;
    }
    return seen;
  }

  const newProject = async (name: string) => (await ok('POST', `${ORG}/projects`, { name })).id as string;
  const alert = (amount: number) => ({ threshold_amount: amount, currency: 'usd', interval: 'month', notification_channel: { type: 'email', recipients: ['ops@example.com'] } });

  it("spend alerts, the organization's and a project's, in either order", async () => {
    const project = await newProject('Alerts');
    for (const base of [`${ORG}/spend_alerts`, `${ORG}/projects/${project}/spend_alerts`]) {
      for (const order of ['asc', 'desc']) {
        const ids: string[] = [];
        for (const amount of [1, 2, 3]) ids.push((await ok('POST', base, alert(amount))).id);
        expect(await listAndDelete(`${base}?order=${order}`, (id) => `${base}/${id}`)).toEqual(order === 'asc' ? ids : [...ids].reverse());
      }
      // `before` a removed alert: the page just before where it was.
      const ids: string[] = [];
      for (const amount of [1, 2, 3]) ids.push((await ok('POST', base, alert(amount))).id);
      await ok('DELETE', `${base}/${ids[2]}`);
      expect((await ok('GET', `${base}?before=${ids[2]}`)).data.map((a: Json) => a.id)).toEqual(ids.slice(0, 2));
      for (const id of ids.slice(0, 2)) await ok('DELETE', `${base}/${id}`);
    }
  });

  it("spend alerts: an alert removed from another list is still no cursor here", async () => {
    const a = `${ORG}/projects/${await newProject('Alerts A')}/spend_alerts`;
    const b = `${ORG}/projects/${await newProject('Alerts B')}/spend_alerts`;
    const gone = (await ok('POST', a, alert(5))).id;
    await ok('DELETE', `${a}/${gone}`);
    await refusedCursor(`${b}?after=${gone}`);
    await refusedCursor(`${ORG}/spend_alerts?before=${gone}`, 'before');
    await refusedCursor(`${b}?after=alert_nope`);
  });

  it('project members: removed from the project, or the user removed from the organization', async () => {
    const project = await newProject('Members');
    const other = await newProject('Other members');
    const users: string[] = [];
    for (let i = 0; i < 4; i++) users.push((await ok('POST', `${ORG}/users`, { email: `member${i}@example.com`, role: 'reader' })).id);
    const base = `${ORG}/projects/${project}/users`;
    expect((await ok('GET', base)).data).toEqual([]);
    for (const id of users) await ok('POST', base, { user_id: id, role: 'member' });
    expect(await listAndDelete(base, (id) => `${base}/${id}`)).toEqual(users);

    // The user removed from the organization takes its memberships with it.
    for (const id of users.slice(0, 2)) await ok('POST', `${ORG}/projects/${project}/users`, { user_id: id, role: 'member' });
    await ok('DELETE', `${ORG}/users/${users[0]}`);
    expect((await ok('GET', `${base}?after=${users[0]}`)).data.map((u: Json) => u.id)).toEqual([users[1]]);

    // A member of another project only, removed or not, is no cursor here.
    await ok('POST', `${ORG}/projects/${other}/users`, { user_id: users[2], role: 'member' });
    await ok('DELETE', `${ORG}/projects/${other}/users/${users[2]}`);
    await refusedCursor(`${ORG}/projects/${other}/users?after=${users[3]}`);
    await ok('POST', `${ORG}/projects/${other}/users`, { user_id: users[3], role: 'member' });
    await refusedCursor(`${ORG}/projects/${project}/users?after=user-nope`);
    // Added again: it is where it is now, at the end.
    await ok('POST', `${ORG}/projects/${other}/users`, { user_id: users[2], role: 'member' });
    expect((await ok('GET', `${ORG}/projects/${other}/users?after=${users[3]}`)).data.map((u: Json) => u.id)).toEqual([users[2]]);
  });

  it("rate limits of models the instance does not serve, in the list's order", async () => {
    const project = await newProject('Limits');
    const base = `${ORG}/projects/${project}/rate_limits`;
    for (const model of ['m3', 'm1', 'm2']) await ok('POST', base, { model, max_requests_per_1_minute: 5 });
    await ok('POST', base, { max_requests_per_1_minute: 5 });
    // '*' first, then by model: the served model's limit stays listed (unlimited) once deleted, the others go.
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 10; i++) {
      const page = await ok('GET', `${base}?limit=1${after ? `&after=${after}` : ''}`);
      seen.push(...page.data.map((r: Json) => r.id));
      for (const r of page.data) if (r.model !== 'served') await ok('DELETE', `${base}/${r.id}`);
      if (!page.has_more) break;
      after = page.last_id;
    }
    expect(seen).toEqual(['rl-*', 'rl-m1', 'rl-m2', 'rl-m3', 'rl-served']);
    await ok('POST', base, { model: 'm0', max_requests_per_1_minute: 5 });
    await ok('DELETE', `${base}/rl-m0`);
    expect((await ok('GET', `${base}?before=rl-m0`)).data.map((r: Json) => r.id)).toEqual([]);
    expect((await ok('GET', `${base}?after=rl-m0`)).data.map((r: Json) => r.id)).toEqual(['rl-served']);
    // Never in this project's list: still refused.
    const other = `${ORG}/projects/${await newProject('Other limits')}/rate_limits`;
    await refusedCursor(`${other}?after=rl-m1`);
    await refusedCursor(`${other}?before=rl-nope`, 'before');
  });

  it("runtime providers and a provider's credentials", async () => {
    const providers: string[] = [];
    for (const name of ['rp1', 'rp2', 'rp3']) providers.push((await ok('POST', `${ORG}/providers`, { name, kind: 'openai', base_url: 'https://up.example/v1', models: [name] })).id);
    const credentials: string[] = [];
    for (const value of ['sk-cursor-removed-A1', 'sk-cursor-removed-B2', 'sk-cursor-removed-C3']) credentials.push((await ok('POST', `${ORG}/providers/${providers[0]}/credentials`, { value })).id);
    const creds = `${ORG}/providers/${providers[0]}/credentials`;
    expect(await listAndDelete(creds, (id) => `${creds}/${id}`)).toEqual(credentials);
    await refusedCursor(`${ORG}/providers/${providers[1]}/credentials?after=${credentials[0]}`);
    expect(await listAndDelete(`${ORG}/providers`, (id) => `${ORG}/providers/${id}`)).toEqual(providers);
    await refusedCursor(`${ORG}/providers?after=prov_nope`);
  });
});

describeEachDatabase('removal markers are kept for a while, not for good', (backend) => {
  let t: TestServer;
  let now = Date.UTC(2026, 2, 1, 12);
  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => now });
  });
  afterAll(async () => t?.close());

  const alert = (amount: number) => ({ threshold_amount: amount, currency: 'usd', interval: 'month', notification_channel: { type: 'email', recipients: ['ops@example.com'] } });
  const base = `${ORG}/spend_alerts`;
  async function created(amount: number): Promise<string> {
    const res = await t.api('POST', base, { body: alert(amount) });
    expect(res.status, res.text).toBe(200);
    return res.body.id;
  }
  const removed = async (id: string) => expect((await t.api('DELETE', `${base}/${id}`)).status).toBe(200);
  const pageAfter = async (id: string) => (await t.api('GET', `${base}?after=${id}`)).status;

  it('a marker a removal 30 days later finds older is dropped (its cursor a 400 again); a newer one still pages', async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Elsewhere' } })).body.id as string;
    const other = `${ORG}/projects/${project}/spend_alerts`;
    const elsewhere = (await t.api('POST', other, { body: alert(4) })).body.id as string;
    expect((await t.api('DELETE', `${other}/${elsewhere}`)).status).toBe(200);
    const keep = await created(1);
    const old = await created(2);
    const recent = await created(3);
    await removed(old);
    now += 20 * 86_400_000;
    await removed(recent);
    expect(await pageAfter(old)).toBe(200);
    now += 11 * 86_400_000;
    await removed(keep);
    // 31 days after `old` was removed, 11 after `recent`.
    expect(await pageAfter(old)).toBe(400);
    // Another list's old marker too (a project's alerts: a scope that saw no removal since).
    expect((await t.api('GET', `${other}?after=${elsewhere}`)).status).toBe(400);
    expect(await pageAfter(recent)).toBe(200);
    expect(await pageAfter(keep)).toBe(200);
  });
});
