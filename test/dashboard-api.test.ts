import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { joinAs, type SessionClient, signUpOwner } from './harness/session-client.js';

// The dashboard's own reads under /auth/dashboard (key search, names, refusals by reason, budget standings) and the
// end of a rotation's grace period (issue 19), on every database.

const ORG = '/v1/organization';
const DAY = 86_400;

function pricedConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-dash-')), 'tollgate.config.json');
  // tollgate-echo at $1,000 per 1M tokens: an answer of a few tokens costs a fraction of a cent.
  writeFileSync(file, JSON.stringify({ pricing: { 'tollgate-echo': { input: 1000, cached_input: 1000, output: 1000 } } }));
  return file;
}

const chat = (t: TestServer, key: string, model = 'tollgate-echo') =>
  fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
  });

const accepted = async (t: TestServer, secret: string) => (await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status;

describeEachDatabase('dashboard session API', (backend) => {
  let t: TestServer;
  // Wall-clock time moved on by tests that need a period to pass; read through the server's injected clock.
  let skew = 0;
  let owner: SessionClient;
  let member: SessionClient;
  let reader: SessionClient;

  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => Date.now() + skew, env: { TOLLGATE_CONFIG: pricedConfig() } });
    owner = await signUpOwner(t);
    member = await joinAs(t, owner, 'member@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
    reader = await joinAs(t, owner, 'reader@example.com', 'reader');
  });
  afterAll(async () => t?.close());

  const nowSec = () => Math.floor((Date.now() + skew) / 1000);
  const db = () => t.server.runtime.database.db;

  describe('key search', () => {
    let project: string;
    // Created in this order; statuses and last use set below.
    const names = [
      'alpha-01',
      'Beta',
      'gamma',
      'ALPHA-02',
      'delta 100%_done',
      'delta 1000 done',
      'zeta',
      'épsilon',
      'alpha-03',
      'omega',
      ...Array.from({ length: 26 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`),
    ];
    const keys: Array<{ id: string; name: string; redacted_value: string; value: string; seq: number }> = [];
    const status = new Map<string, string>();
    const lastUsed = new Map<string, number | null>();

    beforeAll(async () => {
      project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'many keys' } })).body.id;
      for (const [i, name] of names.entries()) {
        const k = (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name } })).body;
        keys.push({ ...k, seq: i });
        status.set(k.id, 'active');
        lastUsed.set(k.id, null);
      }
      const byName = (n: string) => keys.find((k) => k.name === n) as (typeof keys)[number];
      for (const n of ['gamma', 'bulk-03', 'bulk-04', 'bulk-05']) {
        await t.api('DELETE', `${ORG}/projects/${project}/api_keys/${byName(n).id}`);
        status.set(byName(n).id, 'revoked');
      }
      for (const n of ['zeta', 'bulk-10']) {
        await db().updateTable('api_keys').set({ expires_at: nowSec() - 5 }).where('id', '=', byName(n).id).execute();
        status.set(byName(n).id, 'expired');
      }
      await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: byName('omega').value, url: 'https://example.com/x' }] } });
      status.set(byName('omega').id, 'exposed');
      await db().updateTable('api_keys').set({ status: 'suspended' }).where('id', '=', byName('bulk-20').id).execute();
      status.set(byName('bulk-20').id, 'suspended');
      // Last use: two keys share a time (ties break by creation, newest first), one is older, the rest never.
      const used: Array<[string, number]> = [
        ['Beta', 1_700_000_300],
        ['bulk-07', 1_700_000_300],
        ['alpha-03', 1_700_000_100],
        ['bulk-15', 1_700_000_500],
      ];
      for (const [n, at] of used) {
        await db().updateTable('api_keys').set({ last_used_at: at }).where('id', '=', byName(n).id).execute();
        lastUsed.set(byName(n).id, at);
      }
    });

    async function all(query: string, limit = 7): Promise<{ ids: string[]; pages: number; first: { total: number; status_counts: Record<string, number> } }> {
      const ids: string[] = [];
      let after: string | null = null;
      let pages = 0;
      let first: { total: number; status_counts: Record<string, number> } | null = null;
      do {
        const res = await member.call('GET', `/auth/dashboard/projects/${project}/api_keys?limit=${limit}${query}${after ? `&after=${after}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.body.data.length).toBeLessThanOrEqual(limit);
        first ??= res.body;
        ids.push(...res.body.data.map((k: { id: string }) => k.id));
        after = res.body.has_more ? res.body.last_id : null;
        pages++;
      } while (after && pages < 50);
      return { ids, pages, first: first as { total: number; status_counts: Record<string, number> } };
    }

    const codePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    // SQLite's lower() folds ASCII only; PostgreSQL's folds é too. Neither changes these names' order.
    const sorted = {
      created_desc: () => [...keys].sort((a, b) => b.seq - a.seq),
      created_asc: () => [...keys].sort((a, b) => a.seq - b.seq),
      name: () => [...keys].sort((a, b) => codePoint(a.name.toLowerCase(), b.name.toLowerCase()) || a.seq - b.seq),
      last_used: () => [...keys].sort((a, b) => (lastUsed.get(b.id) ?? -1) - (lastUsed.get(a.id) ?? -1) || b.seq - a.seq),
    };

    it('pages through every order by cursor, each key once, in the order asked', async () => {
      for (const [order, expected] of Object.entries(sorted)) {
        const got = await all(`&order=${order}`);
        expect(got.ids, order).toEqual(expected().map((k) => k.id));
        expect(got.pages).toBe(Math.ceil(keys.length / 7));
        expect(got.first.total).toBe(keys.length);
      }
      // The default is newest first.
      expect((await all('')).ids).toEqual(sorted.created_desc().map((k) => k.id));
    });

    it('filters by status, expiry computed at the time of asking, and counts each status', async () => {
      const want = (s: string[]) => sorted.created_desc().filter((k) => s.includes(status.get(k.id) as string)).map((k) => k.id);
      for (const filter of [['active'], ['revoked'], ['expired'], ['exposed'], ['suspended'], ['active', 'expired', 'exposed', 'suspended']]) {
        const got = await all(`&status=${filter.join(',')}`, 5);
        expect(got.ids, filter.join()).toEqual(want(filter));
        expect(got.first.total).toBe(want(filter).length);
      }
      const counts = (await all('&status=active')).first.status_counts;
      expect(counts).toEqual({ active: keys.length - 8, expired: 2, revoked: 4, exposed: 1, suspended: 1 });
      // Repeated parameters and the [] spelling mean the same.
      const res = await member.call('GET', `/auth/dashboard/projects/${project}/api_keys?status[]=revoked&status[]=exposed&limit=100`);
      expect(res.body.data.map((k: { id: string }) => k.id)).toEqual(want(['revoked', 'exposed']));
      // A key past its expiry a moment from now is active now, and expired once that moment passed.
      const soon = keys.find((k) => k.name === 'bulk-11') as (typeof keys)[number];
      // Ten minutes ahead on the server's clock, then the clock moved past it: no wall-clock race on a busy machine.
      await db().updateTable('api_keys').set({ expires_at: nowSec() + 600 }).where('id', '=', soon.id).execute();
      expect((await all('&status=active', 100)).ids).toContain(soon.id);
      skew += 601_000;
      expect((await all('&status=expired', 100)).ids).toContain(soon.id);
      expect((await all('&status=active', 100)).ids).not.toContain(soon.id);
      status.set(soon.id, 'expired');
    });

    it('searches names (any case), ids and redacted values as literal text', async () => {
      const search = async (text: string, extra = '') => (await all(`&search=${encodeURIComponent(text)}${extra}`, 100)).ids;
      const idsOf = (...n: string[]) => sorted.created_desc().filter((k) => n.includes(k.name)).map((k) => k.id);
      expect(await search('alpha')).toEqual(idsOf('alpha-01', 'ALPHA-02', 'alpha-03'));
      expect(await search('ALPHA-0')).toEqual(idsOf('alpha-01', 'ALPHA-02', 'alpha-03'));
      // % and _ are not wildcards.
      expect(await search('100%_')).toEqual(idsOf('delta 100%_done'));
      expect(await search('%')).toEqual(idsOf('delta 100%_done'));
      // Every id has an underscore (key_…): '_' alone finds them all, not the wildcard's any-character.
      expect(await search('0%_d')).toEqual(idsOf('delta 100%_done'));
      expect(await search('épsilon')).toEqual(idsOf('épsilon'));
      const k = keys[5];
      expect(await search(k.id)).toEqual([k.id]);
      expect(await search(k.id.slice(4, 14).toUpperCase())).toEqual([k.id]);
      const tail = k.redacted_value.slice(-4);
      expect(await search(tail)).toContain(k.id);
      expect(await search(k.redacted_value)).toEqual([k.id]);
      // Search, status and order together, paged.
      expect(await search('alpha', '&status=active&order=name')).toEqual(
        sorted.name().filter((x) => x.name.toLowerCase().includes('alpha')).map((x) => x.id),
      );
      expect(await search('no such key')).toEqual([]);
    });

    it('refuses bad parameters in the API shape, and a cursor from elsewhere', async () => {
      const bad = async (q: string) => (await member.call('GET', `/auth/dashboard/projects/${project}/api_keys?${q}`)).body.error;
      expect(await bad('status=deleted')).toMatchObject({ code: 'invalid_value', param: 'status' });
      expect(await bad('order=random')).toMatchObject({ code: 'invalid_value', param: 'order' });
      expect(await bad('limit=101')).toMatchObject({ code: 'invalid_value', param: 'limit' });
      expect(await bad(`search=${'x'.repeat(257)}`)).toMatchObject({ code: 'invalid_value', param: 'search' });
      expect(await bad('order=name&order=last_used')).toMatchObject({ code: 'invalid_value', param: 'order' });
      // A filter the search does not apply is refused, never dropped (a dropped filter lists the wrong keys).
      expect(await bad('owner=someone')).toMatchObject({ code: 'unknown_parameter', param: 'owner' });
      expect(await bad('name=x&limit=5')).toMatchObject({ code: 'unknown_parameter', param: 'name' });
      const other = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'elsewhere' } })).body.id;
      expect(await bad(`after=${other}`)).toMatchObject({ code: 'invalid_value', param: 'after' });
      expect((await member.call('GET', `/auth/dashboard/projects/proj_nope/api_keys`)).status).toBe(404);
    });

    it('needs a session: no cookie, a stale cookie or an admin key get 401', async () => {
      const path = `/auth/dashboard/projects/${project}/api_keys`;
      expect((await fetch(t.url + path)).status).toBe(401);
      expect((await fetch(t.url + path, { headers: { cookie: 'tollgate_session=aaaaaaaaaaaaaaaaaaaaaaaa' } })).status).toBe(401);
      expect((await t.api('GET', path)).status).toBe(401);
      // A reader reads, like the API's own list.
      expect((await reader.call('GET', path)).status).toBe(200);
    });

    it('never sends a secret or its digest', async () => {
      const res = await member.call('GET', `/auth/dashboard/projects/${project}/api_keys?limit=100`);
      const text = JSON.stringify(res.body);
      for (const k of keys) expect(text).not.toContain(k.value.slice(6));
      expect(text).not.toMatch(/secret_hash|[0-9a-f]{64}/);
    });
  });

  describe('the end of a rotation grace period', () => {
    it('shows when the previous secret ends, ends it now on request (once), and the gateway refuses it at once', async () => {
      const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
      const created = (await member.call('POST', base, { name: 'rotating' })).body;
      const rotated = (await member.call('POST', `${base}/${created.id}/rotate`, { grace_period_seconds: 3600 })).body;
      expect(await accepted(t, created.value)).toBe(200);
      expect(await accepted(t, rotated.value)).toBe(200);
      const listed = async () =>
        (await member.call('GET', `/auth/dashboard/projects/${t.defaultProjectId}/api_keys?search=rotating`)).body.data[0].previous_secret_expires_at;
      expect(await listed()).toBe(rotated.previous_secret_expires_at);
      expect(rotated.previous_secret_expires_at).toBeGreaterThanOrEqual(nowSec() + 3590);

      const ended = await member.call('POST', `${base}/${created.id}/end_grace`);
      expect(ended.status).toBe(200);
      expect(ended.body).toMatchObject({ id: created.id, previous_secret_expires_at: null, status: 'active' });
      expect(await accepted(t, created.value)).toBe(401);
      expect(await accepted(t, rotated.value)).toBe(200);
      expect(await listed()).toBeNull();
      const audit = await db().selectFrom('audit_logs').selectAll().where('object_id', '=', created.id).where('type', '=', 'api_key.grace_ended').execute();
      expect(audit).toHaveLength(1);
      expect(JSON.parse(audit[0].actor).session.user.email).toBe('member@example.com');
      // Again: nothing left to end, nothing audited.
      expect((await member.call('POST', `${base}/${created.id}/end_grace`, {})).status).toBe(200);
      expect(await db().selectFrom('audit_logs').select('id').where('object_id', '=', created.id).where('type', '=', 'api_key.grace_ended').execute()).toHaveLength(1);
    });

    it('is refused to readers, without the CSRF token, with unknown parameters, and for revoked keys', async () => {
      const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
      const k = (await t.api('POST', base, { body: { name: 'graceful' } })).body;
      await t.api('POST', `${base}/${k.id}/rotate`, { body: { grace_period_seconds: 600 } });
      expect((await reader.call('POST', `${base}/${k.id}/end_grace`)).status).toBe(403);
      const csrf = member.csrf;
      member.csrf = null;
      try {
        expect((await member.call('POST', `${base}/${k.id}/end_grace`)).status).toBe(403);
      } finally {
        member.csrf = csrf;
      }
      // With the token, a project member still may not end the grace of a key they do not own (made by an admin key).
      const notTheirs = await member.call('POST', `${base}/${k.id}/end_grace`);
      expect(notTheirs.status).toBe(403);
      expect(notTheirs.body.error.code).toBe('insufficient_permissions');
      expect((await t.api('POST', `${base}/${k.id}/end_grace`, { body: { now: true } })).body.error).toMatchObject({ code: 'unknown_parameter', param: 'now' });
      expect(await accepted(t, k.value)).toBe(200);
      expect((await t.api('POST', `${base}/key_nope/end_grace`)).status).toBe(404);
      await t.api('DELETE', `${base}/${k.id}`);
      // A deleted key is gone from the API (404), as for every other call on it.
      expect((await t.api('POST', `${base}/${k.id}/end_grace`)).body.error).toMatchObject({ code: 'not_found' });
      // Admin keys may end it too (the API's own callers).
      const k2 = (await t.api('POST', base, { body: { name: 'graceful-2' } })).body;
      await t.api('POST', `${base}/${k2.id}/rotate`, { body: { grace_period_seconds: 600 } });
      expect((await t.api('POST', `${base}/${k2.id}/end_grace`)).status).toBe(200);
      expect(await accepted(t, k2.value)).toBe(401);
    });
  });

  describe('service accounts', () => {
    it('renames one (owners and admin keys), audited; its keys stay', async () => {
      const base = `${ORG}/projects/${t.defaultProjectId}/service_accounts`;
      const svc = (await owner.call('POST', base, { name: 'ci' })).body;
      const renamed = await owner.call('POST', `${base}/${svc.id}`, { name: '  deploy bot  ' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ id: svc.id, name: 'deploy bot', object: 'organization.project.service_account' });
      expect((await t.api('GET', `${base}/${svc.id}`)).body.name).toBe('deploy bot');
      expect(await accepted(t, svc.api_key.value)).toBe(200);
      expect((await member.call('POST', `${base}/${svc.id}`, { name: 'x' })).status).toBe(403);
      expect((await t.api('POST', `${base}/${svc.id}`, { body: { name: '' } })).body.error).toMatchObject({ code: 'invalid_value', param: 'name' });
      expect((await t.api('POST', `${base}/${svc.id}`, { body: { name: 'y', colour: 'red' } })).body.error).toMatchObject({ code: 'unknown_parameter' });
      expect((await t.api('POST', `${base}/svc_acct_nope`, { body: { name: 'y' } })).status).toBe(404);
      const audit = await db().selectFrom('audit_logs').selectAll().where('object_id', '=', svc.id).where('type', '=', 'service_account.updated').execute();
      expect(audit).toHaveLength(1);
      expect(JSON.parse(audit[0].details)).toMatchObject({ changes_requested: { name: 'deploy bot' } });
    });
  });

  describe('the instance', () => {
    it('names the model the quickstart snippets use: the echo model without providers', async () => {
      expect((await reader.call('GET', '/auth/dashboard/instance')).body).toEqual({ object: 'dashboard.instance', quickstart_model: 'tollgate-echo' });
      expect((await fetch(`${t.url}/auth/dashboard/instance`)).status).toBe(401);
    });
  });

  describe('names of ids', () => {
    it('names keys, users, service accounts and projects of this organization; admin keys for owners only', async () => {
      const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'named key' } })).body;
      const svc = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/service_accounts`, { body: { name: 'robot' } })).body;
      const me = (await member.call('GET', '/auth/me')).body.user;
      const ids = [key.id, svc.id, me.id, t.defaultProjectId, t.adminKeyId, 'key_unknown', 'nothing'].join(',');
      const asOwner = (await owner.call('GET', `/auth/dashboard/names?ids=${ids}`)).body.data;
      const byId = new Map(asOwner.map((n: { id: string }) => [n.id, n]));
      expect(byId.get(key.id)).toEqual({ id: key.id, object: 'api_key', name: 'named key', detail: key.redacted_value, project_id: t.defaultProjectId });
      expect(byId.get(svc.id)).toMatchObject({ object: 'service_account', name: 'robot', project_id: t.defaultProjectId });
      expect(byId.get(me.id)).toMatchObject({ object: 'user', detail: 'member@example.com' });
      expect(byId.get(t.defaultProjectId)).toMatchObject({ object: 'project', name: 'Default project' });
      expect(byId.get(t.adminKeyId)).toMatchObject({ object: 'admin_api_key', name: 'test-admin' });
      expect(asOwner).toHaveLength(5);
      const asReader = (await reader.call('GET', `/auth/dashboard/names?ids=${ids}`)).body.data;
      expect(asReader.map((n: { id: string }) => n.id).sort()).toEqual([key.id, svc.id, me.id, t.defaultProjectId].sort());
      const many = Array.from({ length: 201 }, (_, i) => `key_${i}`).join(',');
      expect((await reader.call('GET', `/auth/dashboard/names?ids=${many}`)).body.error).toMatchObject({ code: 'invalid_value', param: 'ids' });
    });
  });

  describe('refusals by reason, and where budgets stand', () => {
    it('counts what the gateway refused by reason, per key and project, IP refusals included', async () => {
      const start = nowSec() - 5;
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'refusals' } })).body.id;
      const newKey = async (body: Record<string, unknown>) => (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'r', ...body } })).body;
      const rate = await newKey({ rate_limits: { max_requests_per_1_minute: 1 } });
      const quota = await newKey({ request_quota: { max_requests: 2, interval: 'day' } });
      const scope = await newKey({ permissions: 'read_only' });
      const models = await newKey({ allowed_models: ['gpt-4o'] });
      const ip = await newKey({ allowed_ips: ['203.0.113.7'] });
      const statuses = async (key: string, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await chat(t, key)).status);
        return out;
      };
      expect(await statuses(rate.value, 3)).toEqual([200, 429, 429]);
      expect(await statuses(quota.value, 4)).toEqual([200, 200, 429, 429]);
      expect(await statuses(scope.value, 2)).toEqual([403, 403]);
      expect(await statuses(models.value, 1)).toEqual([403]);
      expect(await statuses(ip.value, 3)).toEqual([403, 403, 403]);
      await t.server.gateway.usage.flush();

      const report = async (q: string) => (await reader.call('GET', `/auth/dashboard/refusals?start_time=${start}${q}`)).body;
      const whole = await report(`&project_ids=${p}`);
      expect(whole.total).toBe(10);
      const byReason = Object.fromEntries(whole.data.map((r: { reason: string; count: number }) => [r.reason, r.count]));
      // Scope: the read-only key's two calls, and the model outside the other key's allowlist.
      expect(byReason).toEqual({ rate_limit: 2, quota: 2, scope: 3, ip: 3 });
      expect(whole.data.find((r: { reason: string }) => r.reason === 'ip')).toMatchObject({ error_code: 'ip_not_allowed', count: 3 });
      expect((await report(`&api_key_ids=${ip.id}`)).data).toEqual([
        { error_code: 'ip_not_allowed', reason: 'ip', count: 3, last_at: expect.any(Number) },
      ]);
      expect((await report(`&api_key_ids=${rate.id},${quota.id}`)).total).toBe(4);
      // The Usage API counts the same refusals, IP ones included.
      const usage = await t.api('GET', `${ORG}/usage/completions?start_time=${start}&project_ids=${p}&group_by=api_key_id&bucket_width=1d&limit=2`);
      const results = usage.body.data.flatMap((b: { results: unknown[] }) => b.results) as Array<{ api_key_id: string; num_refused_requests: number }>;
      expect(results.find((r) => r.api_key_id === ip.id)?.num_refused_requests).toBe(3);
      // Bad ranges.
      expect((await reader.call('GET', '/auth/dashboard/refusals')).body.error).toMatchObject({ code: 'missing_required_parameter', param: 'start_time' });
      expect((await reader.call('GET', `/auth/dashboard/refusals?start_time=${start}&end_time=${start}`)).body.error).toMatchObject({ param: 'end_time' });
      expect((await reader.call('GET', `/auth/dashboard/refusals?start_time=0`)).body.error).toMatchObject({ param: 'start_time' });
      expect((await reader.call('GET', `/auth/dashboard/refusals?start_time=${start}&api_key_id=x`)).body.error).toMatchObject({ code: 'unknown_parameter', param: 'api_key_id' });
    });

    it('says a budget is blocking once it refused a request, short of its limit, until the limit is raised', async () => {
      const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'budgeted' } })).body.id;
      // Ten cents a day (100 tokens): a call reserves its bounded input and max_tokens (some 80 tokens) and settles to
      // 9, so a few calls fit, and then none does although spend is far short of the limit.
      await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 10, interval: 'day' } });
      const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'spender', spend_limit: { threshold_amount: 50, interval: 'week' }, request_quota: { max_requests: 10 } } })).body;
      const standing = async () => (await reader.call('GET', `/auth/dashboard/budgets?project_id=${p}&api_key_id=${key.id}`)).body.data;
      // Refusals count from the second after a limit was set.
      skew += 1000;
      let s = await standing();
      expect(s.map((x: { scope: string; kind: string }) => `${x.scope}:${x.kind}`)).toEqual(['project:spend', 'api_key:spend', 'api_key:quota']);
      expect(s[0]).toMatchObject({ limit: 0.1, used: 0, interval: 'day', enforced: true, blocked: false, refused: 0 });
      const dayStart = Math.floor(nowSec() / DAY) * DAY;
      expect(s[0]).toMatchObject({ period_start: dayStart, resets_at: dayStart + DAY });
      expect(s[2]).toMatchObject({ limit: 10, used: 0, interval: 'total', resets_at: null });

      // Listings of models are charged to no quota, so the standing does not count them either.
      for (let i = 0; i < 3; i++) expect((await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key.value}` } })).status).toBe(200);
      const results: number[] = [];
      for (let i = 0; i < 8; i++) results.push((await chat(t, key.value)).status);
      expect(results[0]).toBe(200);
      expect(results.at(-1)).toBe(429);
      await t.server.gateway.usage.flush();
      s = await standing();
      const ok = results.filter((r) => r === 200).length;
      const rows = await db().selectFrom('usage_events').select('cost_nanousd').where('api_key_id', '=', key.id).where('billable', '=', 1).execute();
      const spent = rows.reduce((a, r) => a + Number(r.cost_nanousd), 0) / 1e9;
      expect(s[0].used).toBeCloseTo(spent, 9);
      expect(s[0].used).toBeLessThan(0.1 * 0.8);
      expect(s[0]).toMatchObject({ blocked: true, refused: 8 - ok, last_refused_at: expect.any(Number) });
      expect(s[1]).toMatchObject({ scope: 'api_key', limit: 0.5, blocked: false, refused: 0 });
      expect(s[1].used).toBeCloseTo(spent, 9);
      expect(s[2]).toMatchObject({ used: ok, blocked: false });

      // Raised: the earlier refusals no longer block.
      await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 100, interval: 'day' } });
      skew += 1000;
      s = await standing();
      expect(s[0]).toMatchObject({ limit: 1, blocked: false, refused: 0 });
      // Alert only never blocks, even past its limit.
      await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 1, enforcement: { status: 'disabled' } } });
      expect((await standing())[0]).toMatchObject({ enforced: false, blocked: false, limit: 0.01 });
      expect((await standing())[0].used).toBeGreaterThan(0.01);
      // Without a project, every project with a limit (and the organization's, first, when set).
      await t.api('POST', `${ORG}/spend_limit`, { body: { threshold_amount: 100000, interval: 'month' } });
      const all = (await reader.call('GET', '/auth/dashboard/budgets')).body.data;
      expect(all[0]).toMatchObject({ scope: 'organization', id: t.orgId, limit: 1000, interval: 'month' });
      expect(all.map((x: { id: string }) => x.id)).toContain(p);
      expect((await reader.call('GET', `/auth/dashboard/budgets?api_key_id=${key.id}`)).body.error).toMatchObject({ param: 'project_id' });
    });
  });
});
