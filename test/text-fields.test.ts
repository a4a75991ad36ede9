import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 16 §2a: every text field the control plane accepts refuses control characters and is capped, with a 400 in
// OpenAI's shape naming the parameter — never a 500 (PostgreSQL cannot store U+0000) and never a row written.

const ORG = '/v1/organization';

/** Strings no text field may hold, each with what the error names. */
const BAD = [
  { label: 'U+0000', insert: '\u0000', names: 'U+0000' },
  { label: 'ESC', insert: '\u001b[2J', names: 'U+001B' },
  { label: 'newline', insert: '\n', names: 'U+000A' },
  { label: 'DEL', insert: '\u007f', names: 'U+007F' },
  { label: 'C1 CSI', insert: '\u009b', names: 'U+009B' },
  { label: 'bidi override', insert: '\u202e', names: 'U+202E' },
  { label: 'bidi isolate', insert: '\u2066', names: 'U+2066' },
  { label: 'line separator', insert: '\u2028', names: 'U+2028' },
  { label: 'unpaired surrogate', insert: '\ud800', names: 'unpaired surrogate' },
];

interface Field {
  /** The parameter the error names (zod's path, dotted). */
  param: string;
  /** A valid value; the bad characters go into its middle. */
  good: string;
  /** The longest accepted length: one more is refused. */
  max: number;
  /** The body with `value` in this field. */
  body: (value: string) => unknown;
}

interface Route {
  method: 'POST';
  path: () => string;
  fields: Field[];
  /** Not through the admin key: the dashboard's session API. */
  session?: boolean;
}

/** A value of `length` characters that stays valid for the field's format. */
function ofLength(good: string, length: number): string {
  const at = good.indexOf('@');
  if (at > 0) return `${'a'.repeat(length - (good.length - at))}${good.slice(at)}`;
  if (good.startsWith('https://')) return `${good}?${'q'.repeat(length - good.length - 1)}`;
  return good + 'x'.repeat(length - good.length);
}

function withBad(good: string, insert: string): string {
  const at = good.indexOf('@');
  const cut = at > 0 ? at : good.startsWith('https://') ? 12 : Math.ceil(good.length / 2);
  return good.slice(0, cut) + insert + good.slice(cut);
}

describeEachDatabase('text fields of the control plane', (backend) => {
  let t: TestServer;
  let project: string;
  let keyId: string;

  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
    project = t.defaultProjectId;
    const key = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'target' } });
    keyId = key.body.id;
  });
  afterAll(async () => t?.close());

  const name = (p = 'name'): Field => ({ param: p, good: 'Mobile app', max: 256, body: (v) => ({ [p]: v }) });
  const ips = (): Field => ({ param: 'allowed_ips.1', good: '10.0.0.1', max: 64, body: (v) => ({ allowed_ips: ['10.0.0.0/8', v] }) });
  const alertBody = (notification_channel: unknown) => ({ threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel });

  const routes: Route[] = [
    { method: 'POST', path: () => `${ORG}/projects`, fields: [name(), { ...ips(), body: (v) => ({ name: 'p', allowed_ips: ['10.0.0.0/8', v] }) }] },
    { method: 'POST', path: () => `${ORG}/projects/${project}`, fields: [name(), ips()] },
    {
      method: 'POST',
      path: () => `${ORG}/projects/${project}/api_keys`,
      fields: [
        name(),
        ips(),
        { param: 'allowed_models.1', good: 'gpt-4o', max: 256, body: (v) => ({ allowed_models: ['gpt-4o-mini', v] }) },
        { param: 'owner', good: 'user-abc', max: 64, body: (v) => ({ owner: v }) },
        { param: 'owner.id', good: 'user-abc', max: 64, body: (v) => ({ owner: { type: 'user', id: v } }) },
        { param: 'spend_limit.interval', good: 'month', max: 32, body: (v) => ({ spend_limit: { threshold_amount: 5, interval: v } }) },
      ],
    },
    {
      method: 'POST',
      path: () => `${ORG}/projects/${project}/api_keys/${keyId}`,
      fields: [name(), ips(), { param: 'allowed_models.0', good: 'gpt-4o', max: 256, body: (v) => ({ allowed_models: [v] }) }],
    },
    { method: 'POST', path: () => `${ORG}/projects/${project}/service_accounts`, fields: [name()] },
    {
      method: 'POST',
      path: () => `${ORG}/users`,
      fields: [
        { param: 'email', good: 'new@example.com', max: 320, body: (v) => ({ email: v }) },
        { param: 'name', good: 'New Person', max: 256, body: (v) => ({ email: 'new@example.com', name: v }) },
      ],
    },
    { method: 'POST', path: () => `${ORG}/projects/${project}/users`, fields: [{ param: 'user_id', good: 'user-abc', max: 64, body: (v) => ({ user_id: v, role: 'member' }) }] },
    { method: 'POST', path: () => `${ORG}/admin_api_keys`, fields: [name(), { ...ips(), body: (v) => ({ name: 'a', allowed_ips: ['10.0.0.0/8', v] }) }] },
    { method: 'POST', path: () => `${ORG}/projects/${project}/rate_limits`, fields: [{ param: 'model', good: 'gpt-4o', max: 256, body: (v) => ({ model: v, max_requests_per_1_minute: 5 }) }] },
    { method: 'POST', path: () => `${ORG}/projects/${project}/spend_limit`, fields: [{ param: 'interval', good: 'month', max: 32, body: (v) => ({ threshold_amount: 5, interval: v }) }] },
    { method: 'POST', path: () => `${ORG}/spend_limit`, fields: [{ param: 'interval', good: 'month', max: 32, body: (v) => ({ threshold_amount: 5, interval: v }) }] },
    {
      method: 'POST',
      path: () => `${ORG}/projects/${project}/spend_alerts`,
      fields: [
        { param: 'notification_channel.recipients.0', good: 'ops@example.com', max: 320, body: (v) => alertBody({ type: 'email', recipients: [v] }) },
        { param: 'notification_channel.subject_prefix', good: 'Spend', max: 256, body: (v) => alertBody({ type: 'email', recipients: [], subject_prefix: v }) },
      ],
    },
    { method: 'POST', path: () => `${ORG}/webhooks`, fields: [{ param: 'url', good: 'https://hooks.example.com/x', max: 2048, body: (v) => ({ url: v }) }] },
    { method: 'POST', path: () => `${ORG}/projects/${project}/upstream_objects`, fields: [{ param: 'id', good: 'file-abc', max: 512, body: (v) => ({ id: v }) }] },
    { method: 'POST', path: () => `${ORG}/api_keys/lookup`, fields: [{ param: 'secrets.0', good: 'sk-tg-abc', max: 256, body: (v) => ({ secrets: [v] }) }] },
    {
      method: 'POST',
      path: () => `${ORG}/api_keys/report_exposed`,
      fields: (['token', 'url', 'source', 'type'] as const).map((f) => ({
        param: `reports.0.${f}`,
        good: f === 'url' ? 'https://example.com/leak' : 'abcdef',
        max: { token: 256, url: 2048, source: 256, type: 128 }[f],
        body: (v: string) => ({ reports: [{ token: 'sk-tg-abc', [f]: v }] }),
      })),
    },
    {
      method: 'POST',
      path: () => `${ORG}/invites`,
      fields: [
        { param: 'email', good: 'invitee@example.com', max: 320, body: (v) => ({ email: v, role: 'reader' }) },
        { param: 'projects.0.id', good: 'proj_abc', max: 64, body: (v) => ({ email: 'i@example.com', role: 'reader', projects: [{ id: v, role: 'member' }] }) },
      ],
    },
    {
      method: 'POST',
      path: () => '/auth/signup',
      session: true,
      fields: (['email', 'name', 'setup_token', 'invite_token'] as const).map((f) => ({
        param: f,
        good: f === 'email' ? 'owner@example.com' : 'abcdefgh',
        max: { email: 320, name: 256, setup_token: 256, invite_token: 256 }[f],
        body: (v: string) => ({ email: 'owner@example.com', password: 'a long enough passphrase', setup_token: t.setupToken, [f]: v }),
      })),
    },
    {
      method: 'POST',
      path: () => '/auth/login',
      session: true,
      fields: [{ param: 'email', good: 'owner@example.com', max: 320, body: (v) => ({ email: v, password: 'whatever it is' }) }],
    },
    { method: 'POST', path: () => '/auth/invites/lookup', session: true, fields: [{ param: 'token', good: 'abcdefgh', max: 256, body: (v) => ({ token: v }) }] },
  ];

  /**
   * What a refused call may not have left: users, and audit entries (every write audits) other than the admin key's use
   * and the refusals of sign-ups and sign-ins (audited on purpose, issue 16 §3).
   */
  const written = async () => {
    const db = t.server.runtime.database.db;
    const audit = await db
      .selectFrom('audit_logs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('type', 'not in', ['admin_api_key.used', 'signup.failed', 'login.failed', 'login.locked'])
      .executeTakeFirstOrThrow();
    const users = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return `${audit.n}/${users.n}`;
  };

  let fieldsTried = 0;
  for (const route of routes) {
    for (const field of route.fields) {
      it(`${route.path.toString().replace(/^\(\) => /, '')} ${field.param}: refuses control characters and overlong text`, async () => {
        const path = route.path();
        const key = route.session ? null : undefined;
        // Every refused sign-up counts against its address (20 lock it): each field's are sent from an address of their own.
        const headers = { 'x-forwarded-for': `192.0.2.${++fieldsTried}` };
        const before = await written();
        for (const bad of BAD) {
          const res = await t.api(route.method, path, { body: field.body(withBad(field.good, bad.insert)), key, headers });
          expect(res.status, `${bad.label} → ${res.text}`).toBe(400);
          expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: field.param });
          expect(res.body.error.message, bad.label).toContain(bad.names);
        }
        const long = await t.api(route.method, path, { body: field.body(ofLength(field.good, field.max + 1)), key, headers });
        expect(long.status, long.text).toBe(400);
        expect(long.body.error).toMatchObject({ type: 'invalid_request_error', param: field.param });
        expect(long.body.error.message).toContain(`at most ${field.max}`);
        expect(await written()).toBe(before);
      });
    }
  }

  it('accepts text at the longest length, and ordinary Unicode (accents, right-to-left marks, emoji)', async () => {
    for (const value of ['x'.repeat(256), 'Équipe 東京 \u200fفريق\u200e 🚀']) {
      const res = await t.api('POST', `${ORG}/projects`, { body: { name: value } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.name).toBe(value);
      expect((await t.api('GET', `${ORG}/projects/${res.body.id}`)).body.name).toBe(value);
    }
  });

  it('a project or key name with U+0000 is a 400, not a 500', async () => {
    const p = await t.api('POST', `${ORG}/projects`, { body: { name: 'a\u0000b' } });
    expect(p.status).toBe(400);
    expect(p.body.error).toMatchObject({ code: 'invalid_value', param: 'name' });
    const k = await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'a\u0000b' } });
    expect(k.status).toBe(400);
    expect(k.body.error).toMatchObject({ code: 'invalid_value', param: 'name' });
    const renamed = await t.api('POST', `${ORG}/projects/${project}/api_keys/${keyId}`, { body: { name: '\u0000' } });
    expect(renamed.status).toBe(400);
    expect((await t.api('GET', `${ORG}/projects/${project}/api_keys/${keyId}`)).body.name).toBe('target');
  });

  describe('path and query parameters', () => {
    it('refuses a control character in any of them with a 400 naming it', async () => {
      const cases: Array<[string, string]> = [
        [`${ORG}/projects?after=proj_%00`, 'after'],
        [`${ORG}/projects/${project}/api_keys?after=key_%1b`, 'after'],
        [`${ORG}/users?after=user-%E2%80%AE`, 'after'],
        [`${ORG}/usage/completions?start_time=1&project_ids[]=${project}&project_ids[]=p%00`, 'project_ids[]'],
        [`${ORG}/costs?start_time=1&group_by[]=%7F`, 'group_by[]'],
        [`${ORG}/audit_logs?actor_emails[]=a%00%40example.com`, 'actor_emails[]'],
      ];
      for (const [path, param] of cases) {
        const res = await t.api('GET', path);
        expect(res.status, `${path} → ${res.text}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_value', type: 'invalid_request_error', param });
      }
    });

    it('answers a path holding one as a URL that names nothing (404, as OpenAI does), never a 500', async () => {
      for (const path of [`${ORG}/projects/proj_%00`, `${ORG}/projects/${project}/api_keys/key_%1b%5B2J`, `${ORG}/users/user-%E2%80%AE`, `${ORG}/users/%C2%9B`]) {
        const res = await t.api('GET', path);
        expect(res.status, `${path} → ${res.text}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} → ${res.text}`).toBeLessThan(500);
        expect(res.body.error.type).toBe('invalid_request_error');
      }
    });

    it('still answers ordinary ones', async () => {
      expect((await t.api('GET', `${ORG}/projects/proj_nothere`)).status).toBe(404);
      expect((await t.api('GET', `${ORG}/usage/completions?start_time=1&project_ids[]=${project}`)).status).toBe(200);
    });
  });
});
