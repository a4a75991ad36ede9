import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMIT_UNLIMITED } from '../src/core/project-rate-limits.js';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { componentSchema, contractProblems, operation, operationPath, requestSchema, specAvailable, specOperations } from './harness/openapi-contract.js';
import { type ApiResult, startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Admin API for project rate limits, spend limits (project and organization) and spend alerts (project and
// organization), checked against OpenAI's published OpenAPI description as test/admin-contract-people.test.ts does:
// every answer validates against its operation's schema, every request sends the spec's body with all its members and
// every query parameter the operation documents. docs/admin-api.md ("Limits and spend") lists what is served.

const ORG = '/v1/organization';

const SERVED = [
  'GET /organization/projects/{project_id}/rate_limits',
  'POST /organization/projects/{project_id}/rate_limits/{rate_limit_id}',
  'GET /organization/projects/{project_id}/spend_limit',
  'POST /organization/projects/{project_id}/spend_limit',
  'DELETE /organization/projects/{project_id}/spend_limit',
  'GET /organization/spend_limit',
  'POST /organization/spend_limit',
  'DELETE /organization/spend_limit',
  'GET /organization/projects/{project_id}/spend_alerts',
  'POST /organization/projects/{project_id}/spend_alerts',
  'GET /organization/projects/{project_id}/spend_alerts/{alert_id}',
  'POST /organization/projects/{project_id}/spend_alerts/{alert_id}',
  'DELETE /organization/projects/{project_id}/spend_alerts/{alert_id}',
  'GET /organization/spend_alerts',
  'POST /organization/spend_alerts',
  'GET /organization/spend_alerts/{alert_id}',
  'POST /organization/spend_alerts/{alert_id}',
  'DELETE /organization/spend_alerts/{alert_id}',
];

/** The models the providers of this suite's config declare, and its alias: what the rate limit list names. */
const MODELS = ['fast', 'gpt-4o', 'gpt-4o-mini', 'meta/llama-3.1', 'o3'];

function configFile(baseUrl: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-contract-limits-')), 'tollgate.config.json');
  const providers = [{ name: 'up', base_url: baseUrl, auth: 'none', models: ['gpt-4o', 'gpt-4o-mini', 'o3', 'meta/llama-3.1'] }];
  writeFileSync(file, JSON.stringify({ providers, aliases: { fast: 'gpt-4o-mini' } }));
  return file;
}

// biome-ignore lint/suspicious/noExplicitAny: the spec is arbitrary JSON
type Json = any;

function resolved(schema: Json): Json {
  let s = schema;
  while (s?.$ref) s = componentSchema(s.$ref.split('/').pop());
  return s;
}

function specBodyFields(method: string, path: string): string[] {
  return Object.keys(resolved(requestSchema(method, path))?.properties ?? {}).sort();
}

function specQueryParams(method: string, path: string): string[] {
  const params: Json[] = operation(method, path)?.parameters ?? [];
  return params
    .filter((p) => p?.in === 'query')
    .map((p) => p.name)
    .sort();
}

/** The rows of the "Limits and spend" table in docs/admin-api.md. */
function documentedOperations(): Array<{ op: string; id: string; served: boolean }> {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'admin-api.md'), 'utf8');
  const section = doc.split('## Limits and spend')[1]?.split(/\n## /)[0] ?? '';
  return [...section.matchAll(/^\| `(GET|POST|DELETE) (\/organization\/[^`]*)` \| ([^|]+) \| (S|–) \|/gm)].map((m) => ({
    op: `${m[1]} ${m[2]}`,
    id: m[3].trim(),
    served: m[4] === 'S',
  }));
}

const channel = { type: 'email', recipients: ['finance@example.com', 'ops@example.com'], subject_prefix: 'Tollgate spend' };

describe.runIf(specAvailable() || process.env.CI === 'true')('Admin API contract: rate limits, spend limits and spend alerts', () => {
  it('docs/admin-api.md lists every rate limit and spend operation of the spec, each served', () => {
    const spec = specOperations()
      .filter((o) => o.path.startsWith('/organization/') && /rate_limits|spend_/.test(o.path))
      .map((o) => `${o.method} ${o.path} ${o.operationId}`);
    expect(spec).toHaveLength(SERVED.length);
    const documented = documentedOperations();
    expect(documented.map((d) => `${d.op} ${d.id}`).sort()).toEqual(spec.sort());
    expect(documented.filter((d) => d.served).map((d) => d.op).sort()).toEqual([...SERVED].sort());
  });

  describeEachDatabase('served operations', (backend) => {
    let t: TestServer;
    // An upstream that answers every call 500: it was reached, so a request it answered is counted by the limits (one
    // that reaches no upstream at all is not: metering.md).
    const failing = createServer((req, res) => {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'down', type: 'server_error', param: null, code: null } }));
    });
    const seen = new Map<string, Set<number>>();
    beforeAll(async () => {
      t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: configFile(await listenOnLoopback(failing)) } });
    });
    afterAll(async () => {
      await t?.close();
      failing.close();
    });

    async function call(method: string, path: string, body?: unknown): Promise<ApiResult> {
      const res = await t.api(method, path, { body });
      const specPath = path.replace(/^\/v1/, '');
      const problems = contractProblems(method, specPath, res.status, res.body);
      expect(problems, `${method} ${path} → ${res.status} ${res.text.slice(0, 600)}`).toEqual([]);
      const op = `${method} ${operationPath(specPath)}`;
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op)?.add(res.status);
      return res;
    }

    async function ok(method: string, path: string, body?: unknown): Promise<Json> {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 600)}`).toBe(200);
      return res.body;
    }

    async function refused(method: string, path: string, body: unknown, status: number, code: string, param?: string | null): Promise<Json> {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 600)}`).toBe(status);
      expect(res.body.error.code).toBe(code);
      if (param !== undefined) expect(res.body.error.param).toBe(param);
      return res.body.error;
    }

    function fullBody<T extends Record<string, unknown>>(method: string, path: string, body: T): T {
      expect(Object.keys(body), `${method} ${path} body`).toEqual(expect.arrayContaining(specBodyFields(method, path.replace(/^\/v1/, ''))));
      return body;
    }

    function fullQuery(method: string, path: string, query: Record<string, string>): string {
      expect(Object.keys(query), `${method} ${path} query`).toEqual(expect.arrayContaining(specQueryParams(method, path.replace(/^\/v1/, ''))));
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== '') qs.append(k, v);
      return `${path}?${qs}`;
    }

    const newProject = async (name: string) => (await ok('POST', `${ORG}/projects`, { name })).id as string;

    describe('project rate limits', () => {
      it('lists one limit per model the instance serves for a fresh project, integers where the spec requires them', async () => {
        const p = await newProject('Fresh limits');
        const list = await ok('GET', `${ORG}/projects/${p}/rate_limits`);
        expect(list.data.map((r: Json) => r.model)).toEqual(MODELS);
        expect(list.data.map((r: Json) => r.id)).toEqual(MODELS.map((m) => `rl-${m}`));
        for (const r of list.data) {
          expect(r).toEqual({ object: 'project.rate_limit', id: `rl-${r.model}`, model: r.model, max_requests_per_1_minute: RATE_LIMIT_UNLIMITED, max_tokens_per_1_minute: RATE_LIMIT_UNLIMITED });
        }
        expect(list).toMatchObject({ first_id: 'rl-fast', last_id: 'rl-o3', has_more: false });
      });

      it('pages forwards with after and backwards with before (every query parameter of the spec)', async () => {
        const p = await newProject('Paged limits');
        const path = `${ORG}/projects/${p}/rate_limits`;
        const forward: string[] = [];
        let after = '';
        for (let i = 0; i < 10; i++) {
          const page = await ok('GET', fullQuery('GET', path, { limit: '2', after, before: '' }));
          expect(page.data.length).toBeLessThanOrEqual(2);
          forward.push(...page.data.map((r: Json) => r.model));
          if (!page.has_more) break;
          after = page.last_id;
        }
        expect(forward).toEqual(MODELS);
        const back = await ok('GET', `${path}?limit=2&before=rl-o3`);
        expect(back.data.map((r: Json) => r.model)).toEqual(['gpt-4o-mini', 'meta/llama-3.1']);
        expect(back.has_more).toBe(true);
        const first = await ok('GET', `${path}?limit=2&before=${back.first_id}`);
        expect(first.data.map((r: Json) => r.model)).toEqual(['fast', 'gpt-4o']);
        expect(first.has_more).toBe(false);
        expect((await ok('GET', `${path}?limit=2&after=rl-meta%2Fllama-3.1`)).data.map((r: Json) => r.model)).toEqual(['o3']);
      });

      it('updates with every field of ProjectRateLimitUpdateRequest, shows each back; unlimited or null removes one', async () => {
        const p = await newProject('Updated limits');
        const path = `${ORG}/projects/${p}/rate_limits/rl-gpt-4o`;
        const body = fullBody('POST', path, {
          max_requests_per_1_minute: 500,
          max_tokens_per_1_minute: 150_000,
          max_images_per_1_minute: 10,
          max_audio_megabytes_per_1_minute: 20,
          max_requests_per_1_day: 10_000,
          batch_1_day_max_input_tokens: 1_000_000,
        });
        const updated = await ok('POST', path, body);
        expect(updated).toEqual({ object: 'project.rate_limit', id: 'rl-gpt-4o', model: 'gpt-4o', ...body });
        const listed = await ok('GET', `${ORG}/projects/${p}/rate_limits`);
        expect(listed.data.find((r: Json) => r.model === 'gpt-4o')).toEqual(updated);
        // Only the members given change; unlimited and null both remove a limit; an optional member removed is left out.
        const cleared = await ok('POST', path, { max_requests_per_1_minute: RATE_LIMIT_UNLIMITED, max_images_per_1_minute: null, max_requests_per_1_day: 9 });
        expect(cleared).toEqual({ ...updated, max_requests_per_1_minute: RATE_LIMIT_UNLIMITED, max_requests_per_1_day: 9, max_images_per_1_minute: undefined });
        expect(cleared).not.toHaveProperty('max_images_per_1_minute');
        // A model name with a slash, percent-encoded in the path; and '*' (all models, Tollgate's), listed once set.
        expect((await ok('POST', `${ORG}/projects/${p}/rate_limits/rl-meta%2Fllama-3.1`, { max_tokens_per_1_minute: 5 })).model).toBe('meta/llama-3.1');
        const all = await ok('POST', `${ORG}/projects/${p}/rate_limits/rl-*`, { max_requests_per_1_minute: 1000 });
        expect(all).toMatchObject({ id: 'rl-*', model: '*', max_requests_per_1_minute: 1000 });
        expect((await ok('GET', `${ORG}/projects/${p}/rate_limits?limit=1`)).data[0].id).toBe('rl-*');
        // Another project's limits are its own.
        const other = await newProject('Other limits');
        expect((await ok('GET', `${ORG}/projects/${other}/rate_limits`)).data.find((r: Json) => r.model === 'gpt-4o').max_requests_per_1_minute).toBe(RATE_LIMIT_UNLIMITED);
        // A model's first limit, asked for eight times at once: one stored limit, whichever came last.
        const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', `${ORG}/projects/${other}/rate_limits/rl-o3`, { max_requests_per_1_minute: 10 + i })));
        expect(burst.map((r) => r.status)).toEqual(Array(8).fill(200));
        const rows = await t.server.runtime.database.db.selectFrom('rate_limits').select('max_requests_per_1_minute').where('project_id', '=', other).execute();
        expect(rows).toHaveLength(1);
        expect(burst.map((r) => r.body.max_requests_per_1_minute)).toContain(rows[0].max_requests_per_1_minute);
      });

      it('enforces requests per minute set through the update on a listed model', async () => {
        const p = await newProject('Enforced');
        await ok('POST', `${ORG}/projects/${p}/rate_limits/rl-o3`, { max_requests_per_1_minute: 1, max_images_per_1_minute: 1 });
        const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'k' } })).body.value;
        const send = () =>
          fetch(`${t.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'o3', messages: [{ role: 'user', content: 'hi' }] }),
          });
        const first = await send(); // admitted; the upstream of this suite answers 500
        expect(first.status).not.toBe(429);
        expect(first.status).toBeGreaterThanOrEqual(500);
        const second = await send();
        expect(second.status).toBe(429);
        expect((await second.json()).error.message).toContain('requests per min (RPM): Limit 1');
      });

      it('refuses unknown ids, values outside what Tollgate takes, members and parameters it does not know', async () => {
        const p = await newProject('Refused limits');
        const path = `${ORG}/projects/${p}/rate_limits`;
        await refused('POST', `${path}/rl-not-a-model`, { max_requests_per_1_minute: 5 }, 404, 'not_found', 'rate_limit_id');
        await refused('POST', `${path}/rl_nope`, { max_requests_per_1_minute: 5 }, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope/rate_limits/rl-o3`, { max_requests_per_1_minute: 5 }, 404, 'not_found');
        const zero = await refused('POST', `${path}/rl-o3`, { max_requests_per_1_minute: 0 }, 400, 'invalid_value', 'max_requests_per_1_minute');
        expect(zero.message).toContain('would refuse every request');
        await refused('POST', `${path}/rl-o3`, { max_tokens_per_1_minute: 1.5 }, 400, 'invalid_value', 'max_tokens_per_1_minute');
        await refused('POST', `${path}/rl-o3`, { max_tokens_per_1_minute: '5' }, 400, 'invalid_value', 'max_tokens_per_1_minute');
        await refused('POST', `${path}/rl-o3`, { max_requests_per_1_hour: 5 }, 400, 'unknown_parameter', 'max_requests_per_1_hour');
        await refused('GET', `${path}?order=desc`, undefined, 400, 'unknown_parameter', 'order');
        await refused('GET', `${path}?after=rl-nope`, undefined, 400, 'invalid_value', 'after');
        await refused('GET', `${path}?before=rl-nope`, undefined, 400, 'invalid_value', 'before');
        await refused('GET', `${path}?after=rl-o3&before=rl-fast`, undefined, 400, 'invalid_value', 'before');
        await refused('GET', `${path}?limit=0`, undefined, 400, 'invalid_value', 'limit');
        await refused('GET', `${ORG}/projects/proj_nope/rate_limits`, undefined, 404, 'not_found');
        expect((await ok('GET', `${path}?limit=100`)).data.every((r: Json) => r.max_requests_per_1_minute === RATE_LIMIT_UNLIMITED)).toBe(true);
      });
    });

    describe('spend limits', () => {
      for (const scope of ['project', 'organization'] as const) {
        it(`${scope}: create or replace with every field of the spec, retrieve, delete; none set is a 404`, async () => {
          const path = scope === 'project' ? `${ORG}/projects/${await newProject('Spend limit')}/spend_limit` : `${ORG}/spend_limit`;
          const object = `${scope}.spend_limit`;
          await refused('GET', path, undefined, 404, 'not_found');
          await refused('DELETE', path, undefined, 404, 'not_found');
          const set = await ok('POST', path, fullBody('POST', path, { threshold_amount: 10_000, currency: 'USD', interval: 'month' }));
          expect(set).toMatchObject({ object, threshold_amount: 10_000, currency: 'USD', interval: 'month', enforcement: { status: 'enforcing' } });
          expect(await ok('GET', path)).toEqual(set);
          // Tollgate's: enforcement inactive (watched only), other intervals; the currency in any case.
          const watched = await ok('POST', path, { threshold_amount: 500, currency: 'usd', interval: 'week', enforcement: { status: 'inactive' } });
          expect(watched).toMatchObject({ threshold_amount: 500, currency: 'USD', interval: 'week', enforcement: { status: 'inactive' } });
          // Replaced: what is left out keeps its value.
          expect(await ok('POST', path, { threshold_amount: 700, currency: 'USD' })).toMatchObject({ threshold_amount: 700, interval: 'week', enforcement: { status: 'inactive' } });
          expect(await ok('DELETE', path)).toMatchObject({ object: `${object}.deleted`, deleted: true });
          await refused('GET', path, undefined, 404, 'not_found');
        });
      }

      it('refuses another currency, a null or missing amount, members and parameters it does not know', async () => {
        const path = `${ORG}/projects/${await newProject('Spend refusals')}/spend_limit`;
        const eur = await refused('POST', path, { threshold_amount: 100, currency: 'EUR', interval: 'month' }, 400, 'invalid_value', 'currency');
        expect(eur.message).toContain('US dollars only');
        const nulled = await refused('POST', path, { threshold_amount: null, currency: 'USD', interval: 'month' }, 400, 'invalid_value', 'threshold_amount');
        expect(nulled.message).toContain('DELETE');
        await refused('POST', path, { currency: 'USD', interval: 'month' }, 400, 'missing_required_parameter', 'threshold_amount');
        await refused('POST', path, { threshold_amount: 0, currency: 'USD', interval: 'month' }, 400, 'invalid_value', 'threshold_amount');
        await refused('POST', path, { threshold_amount: 1, interval: 'fortnight' }, 400, 'invalid_value', 'interval');
        await refused('POST', path, { threshold_amount: 1, enforcement: { status: 'sometimes' } }, 400, 'invalid_value', 'enforcement.status');
        await refused('POST', path, { threshold_amount: 1, hard: true }, 400, 'unknown_parameter', 'hard');
        await refused('GET', `${path}?currency=USD`, undefined, 400, 'unknown_parameter', 'currency');
        await refused('GET', `${ORG}/projects/proj_nope/spend_limit`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/spend_limit`, { threshold_amount: 5, currency: 'GBP', interval: 'month' }, 400, 'invalid_value', 'currency');
      });
    });

    describe('spend alerts', () => {
      for (const scope of ['project', 'organization'] as const) {
        it(`${scope}: create, retrieve and update with every field of CreateSpendAlertBody, list page by page both ways, delete`, async () => {
          const base = scope === 'project' ? `${ORG}/projects/${await newProject('Alerts')}/spend_alerts` : `${ORG}/spend_alerts`;
          const object = `${scope}.spend_alert`;
          const made: Json[] = [];
          for (const amount of [100_000, 0, 250]) {
            made.push(await ok('POST', base, fullBody('POST', base, { threshold_amount: amount, currency: 'USD', interval: 'month', notification_channel: channel })));
          }
          expect(made[0]).toMatchObject({ object, threshold_amount: 100_000, currency: 'USD', interval: 'month', notification_channel: channel });
          expect(made[0].id).toMatch(/^alert_/);
          expect(await ok('GET', `${base}/${made[0].id}`)).toEqual(made[0]);
          const path = `${base}/${made[1].id}`;
          const changed = { threshold_amount: 150_000, currency: 'usd', interval: 'month', notification_channel: { type: 'email', recipients: ['cfo@example.com'], subject_prefix: null } };
          const updated = await ok('POST', path, fullBody('POST', path, changed));
          expect(updated).toMatchObject({ id: made[1].id, threshold_amount: 150_000, currency: 'USD', notification_channel: { type: 'email', recipients: ['cfo@example.com'], subject_prefix: null } });
          // Members left out keep their value.
          expect(await ok('POST', path, { threshold_amount: 1 })).toMatchObject({ threshold_amount: 1, notification_channel: { recipients: ['cfo@example.com'] } });
          made[1] = await ok('GET', path);

          const ids = made.map((m) => m.id);
          const pages = async (order: 'asc' | 'desc') => {
            const out: string[] = [];
            let after = '';
            for (let i = 0; i < 10; i++) {
              const page = await ok('GET', fullQuery('GET', base, { limit: '2', order, after, before: '' }));
              out.push(...page.data.map((a: Json) => a.id));
              if (!page.has_more) break;
              after = page.last_id;
            }
            return out;
          };
          expect(await pages('asc')).toEqual(ids);
          expect(await pages('desc')).toEqual([...ids].reverse());
          const back = await ok('GET', `${base}?limit=1&before=${ids[2]}`);
          expect(back).toMatchObject({ first_id: ids[1], last_id: ids[1], has_more: true });
          expect((await ok('GET', `${base}?limit=5&order=desc&before=${ids[0]}`)).data.map((a: Json) => a.id)).toEqual([ids[2], ids[1]]);
          expect(await ok('GET', `${base}?limit=0`)).toMatchObject({ data: [], first_id: null, last_id: null, has_more: true });

          expect(await ok('DELETE', `${base}/${ids[0]}`)).toEqual({ id: ids[0], object: `${object}.deleted`, deleted: true });
          await refused('GET', `${base}/${ids[0]}`, undefined, 404, 'not_found', 'alert_id');
          await refused('DELETE', `${base}/${ids[0]}`, undefined, 404, 'not_found');
          expect((await ok('GET', base)).data.map((a: Json) => a.id)).toEqual(ids.slice(1));
        });
      }

      it("keeps each scope's alerts apart: another project's or the organization's alert is a 404 here", async () => {
        const a = `${ORG}/projects/${await newProject('Alerts A')}/spend_alerts`;
        const b = `${ORG}/projects/${await newProject('Alerts B')}/spend_alerts`;
        const body = { threshold_amount: 5, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
        const inA = await ok('POST', a, body);
        const inOrg = await ok('POST', `${ORG}/spend_alerts`, body);
        await refused('GET', `${b}/${inA.id}`, undefined, 404, 'not_found');
        await refused('POST', `${b}/${inA.id}`, { threshold_amount: 9 }, 404, 'not_found');
        await refused('DELETE', `${b}/${inA.id}`, undefined, 404, 'not_found');
        await refused('GET', `${a}/${inOrg.id}`, undefined, 404, 'not_found');
        await refused('GET', `${ORG}/spend_alerts/${inA.id}`, undefined, 404, 'not_found');
        expect((await ok('GET', b)).data).toEqual([]);
        expect((await ok('GET', `${ORG}/spend_alerts?limit=100`)).data.map((x: Json) => x.id)).not.toContain(inA.id);
        await refused('GET', `${b}?after=${inA.id}`, undefined, 400, 'invalid_value', 'after');
        expect((await ok('GET', `${a}/${inA.id}`)).threshold_amount).toBe(5);
      });

      it('refuses what it cannot honour (another currency, interval or channel), values outside the spec, unknown members and parameters', async () => {
        const base = `${ORG}/projects/${await newProject('Alert refusals')}/spend_alerts`;
        const body = { threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: ['a@example.com'] } };
        expect((await refused('POST', base, { ...body, currency: 'EUR' }, 400, 'invalid_value', 'currency')).message).toContain('US dollars only');
        expect((await refused('POST', base, { ...body, interval: 'week' }, 400, 'invalid_value', 'interval')).message).toContain('interval must be month');
        await refused('POST', base, { ...body, notification_channel: { type: 'sms', recipients: [] } }, 400, 'invalid_value', 'notification_channel.type');
        await refused('POST', base, { ...body, notification_channel: { type: 'email', recipients: ['not an address'] } }, 400, 'invalid_value', 'notification_channel.recipients.0');
        await refused('POST', base, { ...body, notification_channel: { type: 'email' } }, 400, 'missing_required_parameter', 'notification_channel.recipients');
        await refused('POST', base, { ...body, notification_channel: { ...body.notification_channel, cc: [] } }, 400, 'unknown_parameter', 'notification_channel.cc');
        await refused('POST', base, { ...body, threshold_amount: -1 }, 400, 'invalid_value', 'threshold_amount');
        await refused('POST', base, { currency: 'USD', interval: 'month', notification_channel: body.notification_channel }, 400, 'missing_required_parameter', 'threshold_amount');
        await refused('POST', base, { ...body, percent: 50 }, 400, 'unknown_parameter', 'percent');
        await refused('GET', `${base}?limit=101`, undefined, 400, 'invalid_value', 'limit');
        await refused('GET', `${base}?order=newest`, undefined, 400, 'invalid_value', 'order');
        await refused('GET', `${base}?project_ids=x`, undefined, 400, 'unknown_parameter', 'project_ids');
        await refused('GET', `${base}?after=alert_nope`, undefined, 400, 'invalid_value', 'after');
        await refused('GET', `${ORG}/projects/proj_nope/spend_alerts`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope/spend_alerts`, body, 404, 'not_found');
        await refused('GET', `${base}/alert_nope`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/spend_alerts/alert_nope`, { threshold_amount: 1 }, 404, 'not_found');
        await refused('DELETE', `${ORG}/spend_alerts/alert_nope`, undefined, 404, 'not_found');
        await refused('GET', `${ORG}/spend_alerts?before=alert_nope`, undefined, 400, 'invalid_value', 'before');
        await refused('POST', `${ORG}/spend_alerts`, { ...body, currency: 'JPY' }, 400, 'invalid_value', 'currency');
        expect((await ok('GET', base)).data).toEqual([]);
      });
    });

    it('every served route refuses a query parameter or body member it does not know, naming it, and changes nothing', async () => {
      const p = await newProject('Sweep');
      const alertBody = { threshold_amount: 5, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
      await ok('POST', `${ORG}/projects/${p}/spend_limit`, { threshold_amount: 100, currency: 'USD', interval: 'month' });
      const projectAlert = (await ok('POST', `${ORG}/projects/${p}/spend_alerts`, alertBody)).id;
      const orgAlert = (await ok('POST', `${ORG}/spend_alerts`, alertBody)).id;
      const requests: Record<string, [string, Record<string, unknown> | undefined]> = {
        'GET /organization/projects/{project_id}/rate_limits': [`${ORG}/projects/${p}/rate_limits`, undefined],
        'POST /organization/projects/{project_id}/rate_limits/{rate_limit_id}': [`${ORG}/projects/${p}/rate_limits/rl-o3`, { max_requests_per_1_minute: 7 }],
        'GET /organization/projects/{project_id}/spend_limit': [`${ORG}/projects/${p}/spend_limit`, undefined],
        'POST /organization/projects/{project_id}/spend_limit': [`${ORG}/projects/${p}/spend_limit`, { threshold_amount: 1, currency: 'USD', interval: 'month' }],
        'DELETE /organization/projects/{project_id}/spend_limit': [`${ORG}/projects/${p}/spend_limit`, {}],
        'GET /organization/spend_limit': [`${ORG}/spend_limit`, undefined],
        'POST /organization/spend_limit': [`${ORG}/spend_limit`, { threshold_amount: 1, currency: 'USD', interval: 'month' }],
        'DELETE /organization/spend_limit': [`${ORG}/spend_limit`, {}],
        'GET /organization/projects/{project_id}/spend_alerts': [`${ORG}/projects/${p}/spend_alerts`, undefined],
        'POST /organization/projects/{project_id}/spend_alerts': [`${ORG}/projects/${p}/spend_alerts`, alertBody],
        'GET /organization/projects/{project_id}/spend_alerts/{alert_id}': [`${ORG}/projects/${p}/spend_alerts/${projectAlert}`, undefined],
        'POST /organization/projects/{project_id}/spend_alerts/{alert_id}': [`${ORG}/projects/${p}/spend_alerts/${projectAlert}`, { threshold_amount: 9 }],
        'DELETE /organization/projects/{project_id}/spend_alerts/{alert_id}': [`${ORG}/projects/${p}/spend_alerts/${projectAlert}`, {}],
        'GET /organization/spend_alerts': [`${ORG}/spend_alerts`, undefined],
        'POST /organization/spend_alerts': [`${ORG}/spend_alerts`, alertBody],
        'GET /organization/spend_alerts/{alert_id}': [`${ORG}/spend_alerts/${orgAlert}`, undefined],
        'POST /organization/spend_alerts/{alert_id}': [`${ORG}/spend_alerts/${orgAlert}`, { threshold_amount: 9 }],
        'DELETE /organization/spend_alerts/{alert_id}': [`${ORG}/spend_alerts/${orgAlert}`, {}],
      };
      expect(Object.keys(requests).sort()).toEqual([...SERVED].sort());
      const auditCount = async () => (await t.server.runtime.database.db.selectFrom('audit_logs').select('id').execute()).length;
      const before = await auditCount();
      for (const [op, [path, body]] of Object.entries(requests)) {
        const method = op.split(' ')[0];
        await refused(method, `${path}?tollgate_unknown=1`, body, 400, 'unknown_parameter', 'tollgate_unknown');
        if (body) await refused(method, path, { ...body, tollgate_unknown: 1 }, 400, 'unknown_parameter', 'tollgate_unknown');
      }
      expect(await auditCount()).toBe(before);
      expect((await ok('GET', `${ORG}/projects/${p}/spend_limit`)).threshold_amount).toBe(100);
      expect((await ok('GET', `${ORG}/projects/${p}/spend_alerts/${projectAlert}`)).threshold_amount).toBe(5);
      expect((await ok('GET', `${ORG}/projects/${p}/rate_limits`)).data.find((r: Json) => r.model === 'o3').max_requests_per_1_minute).toBe(RATE_LIMIT_UNLIMITED);
      await ok('DELETE', `${ORG}/spend_alerts/${orgAlert}`);
    });

    it('answered every served operation with a success and a refusal, each checked against the spec', () => {
      for (const op of SERVED) {
        const [method, path] = op.split(' ');
        expect(operation(method, path), `${op} is in the spec`).not.toBeNull();
        const statuses = [...(seen.get(op) ?? [])];
        expect(
          statuses.some((s) => s < 300),
          `${op}: a success (saw ${statuses})`,
        ).toBe(true);
        expect(
          statuses.some((s) => s >= 400),
          `${op}: a refusal (saw ${statuses})`,
        ).toBe(true);
      }
    });
  });
});
