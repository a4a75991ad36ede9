import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { componentSchema, contractProblems, operation, operationPath, requestSchema, specAvailable } from './harness/openapi-contract.js';
import { type ApiResult, startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Admin API for projects, project API keys, service accounts, admin API keys, invites, users and project
// users, checked against OpenAI's published OpenAPI description (../shared/openai-openapi/openapi.yaml): every answer
// (successes and refusals) validates against its operation's response schema; every request sends the spec's body with
// all its optional fields (checked against the spec, so a field the spec adds fails here until Tollgate takes it) and
// every query parameter the operation documents. docs/admin-api.md lists what is served.

const ORG = '/v1/organization';

/** The spec's operations Tollgate serves for these resources: each must be answered here, with a success and a refusal. */
const SERVED = [
  'GET /organization/projects',
  'POST /organization/projects',
  'GET /organization/projects/{project_id}',
  'POST /organization/projects/{project_id}',
  'POST /organization/projects/{project_id}/archive',
];

// biome-ignore lint/suspicious/noExplicitAny: the spec is arbitrary JSON
type Json = any;

function resolved(schema: Json): Json {
  let s = schema;
  while (s?.$ref) s = componentSchema(s.$ref.split('/').pop());
  return s;
}

/** The members of an operation's request body, as the spec lists them. */
function specBodyFields(method: string, path: string): string[] {
  return Object.keys(resolved(requestSchema(method, path))?.properties ?? {}).sort();
}

/** The query parameters an operation documents. */
function specQueryParams(method: string, path: string): string[] {
  const params: Json[] = operation(method, path)?.parameters ?? [];
  return params
    .map((p) => (p.$ref ? resolved({ $ref: p.$ref.replace('/parameters/', '/schemas/') }) : p))
    .filter((p) => p?.in === 'query')
    .map((p) => p.name)
    .sort();
}

describe.runIf(specAvailable() || process.env.CI === 'true')('Admin API contract: projects, keys and people', () => {
  describeEachDatabase('served operations', (backend) => {
    let t: TestServer;
    const seen = new Map<string, Set<number>>();
    beforeAll(async () => {
      t = await startTestServer(backend);
    });
    afterAll(async () => t?.close());

    /** Calls Tollgate and checks the answer against the spec's schema for that operation and status. */
    async function call(method: string, path: string, body?: unknown, opts: { raw?: string } = {}): Promise<ApiResult> {
      const res = await t.api(method, path, { body, raw: opts.raw });
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

    /** A request body with every member the spec documents for the operation (extras of Tollgate's allowed). */
    function fullBody<T extends Record<string, unknown>>(method: string, path: string, body: T): T {
      expect(Object.keys(body), `${method} ${path} body`).toEqual(expect.arrayContaining(specBodyFields(method, path.replace(/^\/v1/, ''))));
      return body;
    }

    /** A query string with every parameter the spec documents for the operation. */
    function fullQuery(method: string, path: string, query: Record<string, string | string[]>): string {
      const names = Object.keys(query).map((k) => k.replace(/\[\]$/, ''));
      expect(names, `${method} ${path} query`).toEqual(expect.arrayContaining(specQueryParams(method, path.replace(/^\/v1/, ''))));
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
      return `${path}?${qs}`;
    }

    describe('projects', () => {
      it('creates a project with every field of ProjectCreateRequest and shows them back', async () => {
        const path = `${ORG}/projects`;
        const body = fullBody('POST', path, { name: 'Contract', residency: 'EU_STORAGE_PROCESSING', external_key_id: 'ekm_key_1' });
        const p = await ok('POST', path, body);
        expect(p).toMatchObject({ object: 'organization.project', name: 'Contract', residency: 'EU_STORAGE_PROCESSING', external_key_id: 'ekm_key_1', status: 'active' });
        expect(await ok('GET', `${path}/${p.id}`)).toEqual(p);
        const plain = await ok('POST', path, { name: 'Plain', residency: null, external_key_id: null });
        expect(plain.external_key_id).toBeNull();
        expect(plain).not.toHaveProperty('residency');
      });

      it('modifies a project with every field of ProjectUpdateRequest; null leaves the name, clears the key id', async () => {
        const p = await ok('POST', `${ORG}/projects`, { name: 'To modify' });
        const path = `${ORG}/projects/${p.id}`;
        const changed = await ok('POST', path, fullBody('POST', path, { name: 'Modified', external_key_id: 'ekm_key_2' }));
        expect(changed).toMatchObject({ name: 'Modified', external_key_id: 'ekm_key_2' });
        const kept = await ok('POST', path, { name: null, external_key_id: null });
        expect(kept).toMatchObject({ name: 'Modified', external_key_id: null });
      });

      it('lists with every query parameter of list-projects, page by page, archived ones when asked', async () => {
        const made: string[] = [];
        for (let i = 0; i < 3; i++) made.push((await ok('POST', `${ORG}/projects`, { name: `Listed ${i}` })).id);
        await ok('POST', `${ORG}/projects/${made[1]}/archive`);
        const all: string[] = [];
        let after = '';
        for (let page = 0; page < 50; page++) {
          const body = await ok('GET', fullQuery('GET', `${ORG}/projects`, { limit: '2', after, include_archived: 'true' }));
          all.push(...body.data.map((x: { id: string }) => x.id));
          expect(body.data.length).toBeLessThanOrEqual(2);
          if (!body.has_more) break;
          after = body.last_id;
        }
        expect(all).toEqual(expect.arrayContaining(made));
        expect(new Set(all).size).toBe(all.length);
        const active = await ok('GET', `${ORG}/projects?limit=100&include_archived=false`);
        expect(active.data.map((x: { id: string }) => x.id)).not.toContain(made[1]);
      });

      it('archives a project; an archived one is not modified', async () => {
        const p = await ok('POST', `${ORG}/projects`, { name: 'To archive' });
        const archived = await ok('POST', `${ORG}/projects/${p.id}/archive`);
        expect(archived).toMatchObject({ status: 'archived' });
        expect(archived.archived_at).toBeTypeOf('number');
        await refused('POST', `${ORG}/projects/${p.id}`, { name: 'x' }, 400, 'project_archived');
      });

      it('refuses in OpenAI error shape: unknown ids, values outside the spec, members and parameters it does not know', async () => {
        await refused('GET', `${ORG}/projects/proj_nope`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope`, { name: 'x' }, 404, 'not_found');
        await refused('POST', `${ORG}/projects/proj_nope/archive`, undefined, 404, 'not_found');
        await refused('POST', `${ORG}/projects`, { name: 'x', residency: 'MOON_STORAGE' }, 400, 'invalid_value', 'residency');
        await refused('POST', `${ORG}/projects`, { residency: 'GLOBAL' }, 400, 'missing_required_parameter', 'name');
        await refused('POST', `${ORG}/projects`, { name: 'x', colour: 'blue' }, 400, 'unknown_parameter', 'colour');
        await refused('GET', `${ORG}/projects?limit=0`, undefined, 400, 'invalid_value', 'limit');
        await refused('GET', `${ORG}/projects?include_archived=yes`, undefined, 400, 'invalid_value', 'include_archived');
        await refused('GET', `${ORG}/projects?order=desc`, undefined, 400, 'unknown_parameter', 'order');
        await refused('GET', `${ORG}/projects/${t.defaultProjectId}?expand=all`, undefined, 400, 'unknown_parameter', 'expand');
        await refused('POST', `${ORG}/projects/${t.defaultProjectId}/archive`, { reason: 'x' }, 400, 'unknown_parameter', 'reason');
        expect((await ok('GET', `${ORG}/projects/${t.defaultProjectId}`)).status).toBe('active');
      });
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
