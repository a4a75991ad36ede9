import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { SessionClient } from './harness/session-client.js';

// Admin writes racing each other (found by an outside review, on PostgreSQL). A write that answers an error leaves
// nothing written, and the audit log reads in the order the changes happened: checked only before its transaction, a
// rotation racing a revoke answered 404 yet gave the revoked key a second secret and logged api_key.rotated after
// api_key.deleted. Every race runs many times side by side; SQLite runs one transaction at a time and must agree.

const ORG = '/v1/organization';
const RUNS = 40;

describeEachDatabase('admin writes racing each other', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());
  const db = () => t.server.runtime.database.db;
  const keysPath = () => `${ORG}/projects/${t.defaultProjectId}/api_keys`;
  const auditTypes = async (objectId: string) =>
    (await db().selectFrom('audit_logs').select('type').where('object_id', '=', objectId).orderBy('seq').execute()).map((a) => a.type);
  /** Starts `b` a few milliseconds after `a` (0–4, by run), so each ordering is tried. */
  const race = <A, B>(run: number, a: () => Promise<A>, b: () => Promise<B>) =>
    Promise.all([a(), new Promise((r) => setTimeout(r, run % 5)).then(b)]);

  async function newKeys(prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) ids.push((await t.api('POST', keysPath(), { body: { name: `${prefix}${i}` } })).body.id);
    return ids;
  }

  describe('happy path', () => {
    it('a key rotated then deleted, and deleted then rotated, reads so', { timeout: 60_000 }, async () => {
      const [kept, gone] = await newKeys('seq').then((ids) => ids.slice(0, 2));
      expect((await t.api('POST', `${keysPath()}/${kept}/rotate`, { body: {} })).status).toBe(200);
      expect((await t.api('DELETE', `${keysPath()}/${kept}`)).status).toBe(200);
      expect(await auditTypes(kept)).toEqual(['api_key.created', 'api_key.rotated', 'api_key.deleted']);
      expect((await t.api('DELETE', `${keysPath()}/${gone}`)).status).toBe(200);
      const rot = await t.api('POST', `${keysPath()}/${gone}/rotate`, { body: {} });
      const upd = await t.api('POST', `${keysPath()}/${gone}`, { body: { name: 'late' } });
      expect([rot.status, rot.body.error.code, upd.status, upd.body.error.code]).toEqual([404, 'not_found', 404, 'not_found']);
      expect(await auditTypes(gone)).toEqual(['api_key.created', 'api_key.deleted']);
    });
  });

  describe('errors leave nothing written', () => {
    it('a rotation racing a revoke either happens before it or not at all', { timeout: 120_000 }, async () => {
      const ids = await newKeys('rot');
      const outcomes = await Promise.all(
        ids.map((id, run) => race(run, () => t.api('POST', `${keysPath()}/${id}/rotate`, { body: {} }), () => t.api('DELETE', `${keysPath()}/${id}`))),
      );
      for (const [i, id] of ids.entries()) {
        const [rot, del] = outcomes[i];
        expect(del.status).toBe(200);
        expect([200, 404]).toContain(rot.status);
        const types = await auditTypes(id);
        const secrets = await db().selectFrom('api_key_secrets').select('secret_hash').where('key_id', '=', id).execute();
        const row = await db().selectFrom('api_keys').select(['status', 'rotated_at']).where('id', '=', id).executeTakeFirstOrThrow();
        expect(row.status).toBe('revoked');
        if (rot.status === 200) {
          expect(types).toEqual(['api_key.created', 'api_key.rotated', 'api_key.deleted']);
          expect(secrets).toHaveLength(2);
        } else {
          expect(types, `${id}: rotate answered 404`).toEqual(['api_key.created', 'api_key.deleted']);
          expect(secrets).toHaveLength(1);
          expect(row.rotated_at).toBeNull();
        }
      }
    });

    it('an update racing a revoke either happens before it or not at all', { timeout: 120_000 }, async () => {
      const ids = await newKeys('upd');
      const outcomes = await Promise.all(
        ids.map((id, run) => race(run, () => t.api('POST', `${keysPath()}/${id}`, { body: { name: `renamed${run}` } }), () => t.api('DELETE', `${keysPath()}/${id}`))),
      );
      for (const [i, id] of ids.entries()) {
        const [upd] = outcomes[i];
        expect([200, 404]).toContain(upd.status);
        const types = await auditTypes(id);
        const row = await db().selectFrom('api_keys').select('name').where('id', '=', id).executeTakeFirstOrThrow();
        if (upd.status === 200) {
          expect(types).toEqual(['api_key.created', 'api_key.updated', 'api_key.deleted']);
          expect(row.name).toBe(`renamed${i}`);
        } else {
          expect(types, `${id}: update answered 404`).toEqual(['api_key.created', 'api_key.deleted']);
          expect(row.name).toBe(`upd${i}`);
        }
      }
    });

    it('a service account update racing its deletion either happens before it or not at all', { timeout: 120_000 }, async () => {
      const base = `${ORG}/projects/${t.defaultProjectId}/service_accounts`;
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i++) ids.push((await t.api('POST', base, { body: { name: `sa${i}`, create_service_account_only: true } })).body.id);
      const outcomes = await Promise.all(
        ids.map((id, run) => race(run, () => t.api('POST', `${base}/${id}`, { body: { name: `x${run}` } }), () => t.api('DELETE', `${base}/${id}`))),
      );
      for (const [i, id] of ids.entries()) {
        const [upd, del] = outcomes[i];
        expect(del.status).toBe(200);
        expect([200, 404]).toContain(upd.status);
        const expected = upd.status === 200 ? ['service_account.created', 'service_account.updated', 'service_account.deleted'] : ['service_account.created', 'service_account.deleted'];
        expect(await auditTypes(id), `${id}: update answered ${upd.status}`).toEqual(expected);
      }
    });

    it('a key made while its project is archived is refused or made before the archive', { timeout: 120_000 }, async () => {
      for (let run = 0; run < 10; run++) {
        const project = (await t.api('POST', `${ORG}/projects`, { body: { name: `arch${run}` } })).body.id;
        const [creates, archive] = await race(
          run,
          () => Promise.all([0, 1, 2].map((j) => t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: `k${j}` } }))),
          () => t.api('POST', `${ORG}/projects/${project}/archive`),
        );
        expect(archive.status).toBe(200);
        for (const c of creates) expect([200, 400]).toContain(c.status);
        const entries = await db().selectFrom('audit_logs').select(['type', 'seq']).where('project_id', '=', project).orderBy('seq').execute();
        const archivedAt = entries.findIndex((e) => e.type === 'project.archived');
        expect(entries.slice(archivedAt + 1).map((e) => e.type), `project ${project}`).toEqual([]);
        const made = await db().selectFrom('api_keys').select('id').where('project_id', '=', project).execute();
        expect(made).toHaveLength(creates.filter((c) => c.status === 200).length);
      }
    });
    it("a key changed, or its grace ended, while its project is archived is refused or changed before the archive", { timeout: 120_000 }, async () => {
      for (let run = 0; run < 10; run++) {
        const project = (await t.api('POST', `${ORG}/projects`, { body: { name: `arch-edit${run}` } })).body.id;
        const keys = `${ORG}/projects/${project}/api_keys`;
        const ids: string[] = [];
        for (let j = 0; j < 3; j++) {
          const id = (await t.api('POST', keys, { body: { name: `k${j}` } })).body.id;
          expect((await t.api('POST', `${keys}/${id}/rotate`, { body: {} })).status).toBe(200);
          ids.push(id);
        }
        const [changes, archive] = await race(
          run,
          () =>
            Promise.all(
              ids.flatMap((id) => [t.api('POST', `${keys}/${id}`, { body: { name: 'late' } }), t.api('POST', `${keys}/${id}/end_grace`)]),
            ),
          () => t.api('POST', `${ORG}/projects/${project}/archive`),
        );
        expect(archive.status).toBe(200);
        for (const c of changes) expect([200, 400]).toContain(c.status);
        const entries = await db().selectFrom('audit_logs').select(['type', 'seq']).where('project_id', '=', project).orderBy('seq').execute();
        const archivedAt = entries.findIndex((e) => e.type === 'project.archived');
        expect(entries.slice(archivedAt + 1).map((e) => e.type), `project ${project}`).toEqual([]);
      }
    });
  });

  describe("an archived project's settings", () => {
    it("a member's role, a rate limit, the spend limit, an alert or an object changed while the project is archived is refused or changed before the archive", { timeout: 120_000 }, async () => {
      const alertBody = { threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
      for (let run = 0; run < 10; run++) {
        const project = (await t.api('POST', `${ORG}/projects`, { body: { name: `arch-settings${run}` } })).body.id;
        const base = `${ORG}/projects/${project}`;
        const user = (await t.api('POST', `${ORG}/users`, { body: { email: `arch-settings${run}@example.com` } })).body.id;
        expect((await t.api('POST', `${base}/users`, { body: { user_id: user, role: 'member' } })).status).toBe(200);
        const alert = (await t.api('POST', `${base}/spend_alerts`, { body: alertBody })).body.id;
        const [changes, archive] = await race(
          run,
          () =>
            Promise.all([
              t.api('POST', `${base}/users/${user}`, { body: { role: 'owner' } }),
              t.api('POST', `${base}/rate_limits/rl-*`, { body: { max_requests_per_1_minute: 5 } }),
              t.api('POST', `${base}/rate_limits`, { body: { model: 'gpt-4o', max_requests_per_1_minute: 5 } }),
              t.api('POST', `${base}/spend_limit`, { body: { threshold_amount: 100 } }),
              t.api('POST', `${base}/spend_alerts`, { body: alertBody }),
              t.api('POST', `${base}/spend_alerts/${alert}`, { body: { threshold_amount: 200 } }),
              t.api('POST', `${base}/upstream_objects`, { body: { id: `file-arch${run}` } }),
            ]),
          () => t.api('POST', `${base}/archive`),
        );
        expect(archive.status).toBe(200);
        for (const c of changes) expect([200, 400], c.text).toContain(c.status);
        const entries = await db().selectFrom('audit_logs').select(['type', 'seq']).where('project_id', '=', project).orderBy('seq').execute();
        const archivedAt = entries.findIndex((e) => e.type === 'project.archived');
        expect(entries.slice(archivedAt + 1).map((e) => e.type), `project ${project}`).toEqual([]);
        const role = (await t.api('GET', `${base}/users/${user}`)).body.role;
        expect(role).toBe(changes[0].status === 200 ? 'owner' : 'member');
      }
    });
  });

  describe('one of several at once', () => {
    it('invites sent together to one address leave one link, and the others stop working', { timeout: 120_000 }, async () => {
      const emails = Array.from({ length: 15 }, (_, i) => `race${i}@example.com`);
      const sent = await Promise.all(emails.map((email) => Promise.all([0, 1, 2].map(() => t.api('POST', `${ORG}/invites`, { body: { email, role: 'owner' } })))));
      for (const [i, email] of emails.entries()) {
        for (const r of sent[i]) expect(r.status).toBe(200);
        const pending = await db().selectFrom('invites').select('id').where('email', '=', email).where('deleted_at', 'is', null).where('accepted_at', 'is', null).execute();
        expect(pending, email).toHaveLength(1);
        for (const r of sent[i]) {
          const token = new URL(r.body.accept_url.replace('#/accept', 'accept')).searchParams.get('token');
          const lookup = await new SessionClient(t.url).call('POST', '/auth/invites/lookup', { token });
          expect(lookup.status === 200, `${email}: link of ${r.body.id}`).toBe(r.body.id === pending[0].id);
        }
      }
    });

    it('a user removed, or added to a project, three times at once is so once', { timeout: 120_000 }, async () => {
      const members = `${ORG}/projects/${t.defaultProjectId}/users`;
      for (let run = 0; run < 10; run++) {
        const user = (await t.api('POST', `${ORG}/users`, { body: { email: `people${run}@example.com`, name: 'P', role: 'reader' } })).body.id;
        const added = await Promise.all([0, 1, 2].map(() => t.api('POST', members, { body: { user_id: user, role: 'member' } })));
        expect(added.map((r) => r.status).sort(), user).toEqual([200, 409, 409]);
        const removed = await Promise.all([0, 1, 2].map(() => t.api('DELETE', `${ORG}/users/${user}`)));
        expect(removed.map((r) => r.status).sort(), user).toEqual([200, 404, 404]);
        expect(await auditTypes(user)).toEqual(['user.added', 'project.user.added', 'user.deleted']);
      }
    });

    it('whatever is deleted three times at once is deleted once, with one entry; the others are 404 as a second DELETE', { timeout: 120_000 }, async () => {
      const project = `${ORG}/projects/${t.defaultProjectId}`;
      const alert = { threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: ['a@example.com'] } };
      // Each kind: how to make one (its path and the id its entries are filed under), and its deletion's entry type.
      const kinds: Array<{ type: string; make: (run: number) => Promise<{ path: string; id: string }> }> = [
        { type: 'webhook.deleted', make: async () => {
          const id = (await t.api('POST', `${ORG}/webhooks`, { body: { url: 'https://hooks.example.com/race' } })).body.id;
          return { path: `${ORG}/webhooks/${id}`, id };
        } },
        { type: 'spend_alert.deleted', make: async () => {
          const id = (await t.api('POST', `${project}/spend_alerts`, { body: alert })).body.id;
          return { path: `${project}/spend_alerts/${id}`, id };
        } },
        { type: 'spend_alert.deleted', make: async () => {
          const id = (await t.api('POST', `${ORG}/spend_alerts`, { body: alert })).body.id;
          return { path: `${ORG}/spend_alerts/${id}`, id };
        } },
        { type: 'rate_limit.deleted', make: async (run) => {
          const id = (await t.api('POST', `${project}/rate_limits`, { body: { model: `gone-model-${run}`, max_requests_per_1_minute: 5 } })).body.id;
          return { path: `${project}/rate_limits/${id}`, id };
        } },
        { type: 'upstream_object.unassigned', make: async (run) => {
          const id = `file-race${run}`;
          expect((await t.api('POST', `${project}/upstream_objects`, { body: { id } })).status).toBe(200);
          return { path: `${project}/upstream_objects/${id}`, id };
        } },
        { type: 'api_key.deleted', make: async (run) => {
          const id = (await t.api('POST', `${project}/api_keys`, { body: { name: `gone${run}` } })).body.id;
          return { path: `${project}/api_keys/${id}`, id };
        } },
        { type: 'admin_api_key.deleted', make: async (run) => {
          const id = (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: `gone${run}` } })).body.id;
          return { path: `${ORG}/admin_api_keys/${id}`, id };
        } },
      ];
      for (const kind of kinds) {
        const made = [];
        for (let run = 0; run < 10; run++) made.push(await kind.make(run));
        const answers = await Promise.all(made.map(({ path }) => Promise.all([0, 1, 2].map(() => t.api('DELETE', path)))));
        for (const [i, { path, id }] of made.entries()) {
          expect(answers[i].map((r) => r.status).sort(), path).toEqual([200, 404, 404]);
          for (const r of answers[i].filter((x) => x.status === 404)) expect(r.body.error.code).toBe('not_found');
          expect((await auditTypes(id)).filter((type) => type === kind.type), path).toEqual([kind.type]);
        }
      }
    });

    it('a rate limit created three times at once is created once; the others are 409 conflict', { timeout: 60_000 }, async () => {
      const models = Array.from({ length: 8 }, (_, i) => `race-model-${i}`);
      const base = `${ORG}/projects/${t.defaultProjectId}/rate_limits`;
      const all = await Promise.all(models.map((model) => Promise.all([0, 1, 2].map(() => t.api('POST', base, { body: { model, max_requests_per_1_minute: 5 } })))));
      for (const [i, model] of models.entries()) {
        expect(all[i].map((r) => r.status).sort(), model).toEqual([200, 409, 409]);
        for (const r of all[i].filter((x) => x.status === 409)) expect(r.body.error.code).toBe('conflict');
        const audit = await db().selectFrom('audit_logs').select('id').where('type', '=', 'rate_limit.created').where('object_id', '=', `rl-${model}`).execute();
        expect(audit).toHaveLength(1);
      }
    });
  });
});
