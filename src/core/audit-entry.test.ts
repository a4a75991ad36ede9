import { describe, expect, it } from 'vitest';
import { auditDetails, auditLogObject, type StoredAuditEntry } from './audit-entry.js';
import { RESOURCES } from './permissions.js';
import { permissionsFromScopes, scopesFromPermissions } from './scopes.js';

const row = (over: Partial<StoredAuditEntry>): StoredAuditEntry => ({
  id: 'audit_log-1',
  type: 'project.created',
  effective_at: 1_700_000_000,
  actor_type: 'cli',
  actor_id: 'root',
  actor: '{}',
  project_id: null,
  ip: null,
  user_agent: null,
  details: '{}',
  ...over,
});

describe('audit entries in OpenAI shape', () => {
  it('shows a session actor without the nulls OpenAI types as strings (a failed sign-in has no user id)', () => {
    const e = auditLogObject(
      row({
        type: 'login.failed',
        actor_type: 'session',
        actor_id: null,
        actor: JSON.stringify({ type: 'session', session: { user: { id: null, email: 'a@b.c' }, ip_address: null, user_agent: 'UA' } }),
      }),
      undefined,
      undefined,
    );
    expect(e.actor).toEqual({ type: 'session', session: { user: { email: 'a@b.c' }, user_agent: 'UA' } });
    expect(e).not.toHaveProperty('project');
    expect(e).not.toHaveProperty('tollgate_actor');
  });

  it("gives an API key actor its owner's type (user or service account), and says whether it is an admin key", () => {
    const stored = JSON.stringify({ type: 'api_key', api_key: { id: 'key_a', type: 'admin' }, ip_address: '10.0.0.1', user_agent: null });
    const byUser = auditLogObject(row({ actor_type: 'api_key', actor_id: 'key_a', actor: stored }), undefined, {
      kind: 'admin',
      ownerType: 'user',
      ownerId: 'user-1',
      ownerEmail: 'o@example.com',
    });
    expect(byUser.actor).toEqual({
      type: 'api_key',
      api_key: { id: 'key_a', type: 'user', user: { id: 'user-1', email: 'o@example.com' }, object: 'organization.admin_api_key' },
      ip_address: '10.0.0.1',
    });
    const orgOwned = auditLogObject(row({ actor_type: 'api_key', actor_id: 'key_a', actor: stored }), undefined, {
      kind: 'admin',
      ownerType: null,
      ownerId: null,
      ownerEmail: null,
    });
    expect(orgOwned.actor).toEqual({ type: 'api_key', api_key: { id: 'key_a', object: 'organization.admin_api_key' }, ip_address: '10.0.0.1' });
    const svc = auditLogObject(
      row({ actor_type: 'api_key', actor_id: 'key_s', actor: JSON.stringify({ type: 'api_key', api_key: { id: 'key_s', type: 'service_account' } }) }),
      undefined,
      { kind: 'project', ownerType: 'service_account', ownerId: 'svc_acct_1', ownerEmail: null },
    );
    expect(svc.actor).toEqual({
      type: 'api_key',
      api_key: { id: 'key_s', type: 'service_account', service_account: { id: 'svc_acct_1' }, object: 'organization.project.api_key' },
    });
    // A key Tollgate no longer finds: the recorded kind, no owner.
    const gone = auditLogObject(row({ actor_type: 'api_key', actor_id: 'key_a', actor: stored }), undefined, undefined);
    expect(gone.actor).toEqual({ type: 'api_key', api_key: { id: 'key_a', object: 'organization.admin_api_key' }, ip_address: '10.0.0.1' });
  });

  it('shows an entry no person or key caused with actor null, and who did it in tollgate_actor', () => {
    for (const [type, id] of [
      ['cli', 'root'],
      ['system', null],
      ['reporter', 'github'],
    ] as const) {
      const e = auditLogObject(row({ actor_type: type, actor_id: id, actor: JSON.stringify({ type, id, ip_address: null }) }), undefined, undefined);
      expect(e.actor).toBeNull();
      expect(e.tollgate_actor).toEqual(id ? { type, id } : { type });
    }
  });

  it('shows the project only when there is one, its name when known', () => {
    expect(auditLogObject(row({ project_id: 'proj_1' }), 'Main', undefined).project).toEqual({ id: 'proj_1', name: 'Main' });
    expect(auditLogObject(row({ project_id: 'proj_1' }), undefined, undefined).project).toEqual({ id: 'proj_1' });
    expect(auditLogObject(row({ project_id: null }), 'x', undefined)).not.toHaveProperty('project');
  });

  it('shows permissions as OpenAI scopes, from rows of every age, keeping Tollgate permissions beside them', () => {
    // Rows written before: permissions stored as `scopes`.
    const legacy = auditDetails('api_key.created', { id: 'key_1', data: { name: 'k', scopes: 'read_only' } });
    expect(legacy.data).toEqual({ name: 'k', scopes: RESOURCES.map((r) => `api.${r}.read`), permissions: 'read_only' });
    const restricted = { restricted: { responses: 'write', files: 'read', models: 'none' } };
    const now = auditDetails('api_key.created', { id: 'key_1', data: { name: 'k', permissions: restricted } });
    expect(now.data).toEqual({ name: 'k', scopes: ['api.responses.write', 'api.files.read'], permissions: restricted });
    // A service account key made with OpenAI scopes shows those.
    const given = auditDetails('api_key.created', { id: 'key_2', data: { scopes: ['api.model.request'], permissions: { restricted: { embeddings: 'write' } } } });
    expect((given.data as { scopes: string[] }).scopes).toEqual(['api.model.request']);
    const updated = auditDetails('api_key.updated', { id: 'key_1', changes_requested: { name: 'n', permissions: 'all', scopes: 'all' } });
    expect((updated.changes_requested as { scopes: string[] }).scopes).toEqual(RESOURCES.map((r) => `api.${r}.write`));
    const renamed = auditDetails('api_key.updated', { id: 'key_1', changes_requested: { name: 'n', spend_limit: null } });
    expect(renamed.changes_requested).toEqual({ name: 'n', spend_limit: null });
  });

  it('leaves out a null id and the nulls of members OpenAI types as strings, keeping Tollgate nulls', () => {
    expect(auditDetails('login.failed', { id: null, email: 'a@b.c' })).toEqual({ email: 'a@b.c' });
    expect(auditDetails('service_account.updated', { id: 'svc', changes_requested: { name: 'x', role: null } })).toEqual({ id: 'svc', changes_requested: { name: 'x' } });
    expect(auditDetails('user.updated', { id: 'u', changes_requested: { role: null, technical_level: null } })).toEqual({
      id: 'u',
      changes_requested: { technical_level: null },
    });
  });

  it("names a project's name as OpenAI's audit log does: title beside name when created, title alone when changed", () => {
    expect(auditDetails('project.created', { id: 'proj_1', data: { name: 'P', allowed_ips: null } })).toEqual({ id: 'proj_1', data: { name: 'P', title: 'P', allowed_ips: null } });
    expect(auditDetails('project.updated', { id: 'proj_1', changes_requested: { name: 'Q', allowed_ips: ['10.0.0.0/8'] } })).toEqual({
      id: 'proj_1',
      changes_requested: { title: 'Q', allowed_ips: ['10.0.0.0/8'] },
    });
    // A null name (keep it), as older rows recorded it, is no title; an update of the allowlist alone names none.
    expect(auditDetails('project.updated', { id: 'proj_1', changes_requested: { name: null, external_key_id: 'x' } })).toEqual({ id: 'proj_1', changes_requested: { external_key_id: 'x' } });
    expect(auditDetails('project.updated', { id: 'proj_1', changes_requested: { allowed_ips: null } })).toEqual({ id: 'proj_1', changes_requested: { allowed_ips: null } });
  });

  it('reads an unreadable record as no details rather than failing the page', () => {
    const e = auditLogObject(row({ details: 'not json', actor: 'nope', actor_type: 'session', actor_id: 'user-1' }), undefined, undefined);
    expect(e['project.created']).toEqual({});
    expect(e.actor).toEqual({ type: 'session', session: { user: { id: 'user-1' } } });
  });
});

describe('scopesFromPermissions', () => {
  it('reads back to the same grants', () => {
    for (const p of ['all', 'read_only', { restricted: { responses: 'write', files: 'read', audio: 'none' } }] as const) {
      const back = permissionsFromScopes(scopesFromPermissions(p));
      expect(back.ok).toBe(true);
      const expected =
        p === 'all'
          ? Object.fromEntries(RESOURCES.map((r) => [r, 'write']))
          : p === 'read_only'
            ? Object.fromEntries(RESOURCES.map((r) => [r, 'read']))
            : { responses: 'write', files: 'read' };
      expect(back.ok && back.permissions).toEqual({ restricted: expected });
    }
  });
});
