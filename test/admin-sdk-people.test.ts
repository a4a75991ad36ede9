import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The official `openai` npm package's Admin API methods (client.admin.organization.*) end to end against Tollgate, for
// projects, project API keys, service accounts, admin API keys, invites, users and project users: each call goes
// through the SDK's own request building (paths, query serialisation, bodies) and reads Tollgate's answer into its
// types; lists are read with `for await`, which follows the SDK's own cursor across several pages.

describeEachDatabase("Admin API through the openai npm package's admin methods", (backend) => {
  let t: TestServer;
  let client: OpenAI;
  let org: OpenAI['admin']['organization'];
  beforeAll(async () => {
    t = await startTestServer(backend);
    client = new OpenAI({ adminAPIKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
    org = client.admin.organization;
  });
  afterAll(async () => t?.close());

  /** Every item of a list, read with for await across pages of `limit` items. */
  async function all<T>(pages: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of pages) out.push(item);
    return out;
  }

  it('projects: create with every field the SDK has (geography, external key), retrieve, update, archive, list every page', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await org.projects.create({ name: `SDK project ${i}`, geography: 'US', external_key_id: `ekm_${i}` }));
    expect(made[0]).toMatchObject({ object: 'organization.project', geography: 'US', external_key_id: 'ekm_0' });
    expect((await org.projects.retrieve(made[0].id)).name).toBe('SDK project 0');
    const updated = await org.projects.update(made[0].id, { name: 'SDK renamed', external_key_id: null, geography: 'EU' });
    expect(updated).toMatchObject({ name: 'SDK renamed', external_key_id: null, geography: 'EU' });
    expect((await org.projects.archive(made[4].id)).status).toBe('archived');
    const listed = await all(org.projects.list({ limit: 2 }));
    expect(listed.map((p) => p.id)).toEqual(expect.arrayContaining(made.slice(0, 4).map((p) => p.id)));
    expect(listed.map((p) => p.id)).not.toContain(made[4].id);
    expect((await all(org.projects.list({ limit: 2, include_archived: true }))).map((p) => p.id)).toContain(made[4].id);
    const missing = await org.projects.retrieve('proj_nope').catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe('not_found');
    expect(missing.requestID).toMatch(/^req_/);
  });

  it('project API keys and service accounts: every page of keys, owner_project_access, delete; account create, update, more keys', async () => {
    const p = (await org.projects.create({ name: 'SDK keys' })).id;
    const accounts = org.projects.serviceAccounts;
    const first = await accounts.create(p, { name: 'SDK account' });
    expect(first.api_key?.value).toMatch(/^sk-tg-/);
    const alone = await accounts.create(p, { name: 'SDK alone', create_service_account_only: true });
    expect(alone.api_key).toBeNull();
    expect(await accounts.update(alone.id, { project_id: p, name: 'SDK alone, renamed', role: 'owner' })).toMatchObject({ role: 'owner' });
    expect((await accounts.retrieve(alone.id, { project_id: p })).name).toBe('SDK alone, renamed');
    const more = [];
    for (let i = 0; i < 4; i++) more.push(await accounts.apiKeys.create(alone.id, { project_id: p, name: `SDK key ${i}`, scopes: ['api.model.request'] }));
    expect(more[0]).toMatchObject({ object: 'organization.project.service_account.api_key', name: 'SDK key 0' });
    expect((await all(accounts.list(p, { limit: 2 }))).map((a) => a.id)).toEqual(expect.arrayContaining([first.id, alone.id]));

    const keys = await all(org.projects.apiKeys.list(p, { limit: 2, owner_project_access: 'any' }));
    expect(keys.map((k) => k.id)).toEqual([first.api_key?.id, ...more.map((k) => k.id)]);
    for (const k of keys) expect(k).toMatchObject({ owner_project_access: 'active', owner: { type: 'service_account' } });
    expect(await all(org.projects.apiKeys.list(p, { owner_project_access: 'inactive' }))).toEqual([]);
    const one = await org.projects.apiKeys.retrieve(more[0].id, { project_id: p });
    expect(one.owner.service_account?.id).toBe(alone.id);
    expect(await org.projects.apiKeys.delete(more[0].id, { project_id: p })).toMatchObject({ id: more[0].id, deleted: true });
    await expect(org.projects.apiKeys.retrieve(more[0].id, { project_id: p })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await all(org.projects.apiKeys.list(p, { limit: 2 }))).map((k) => k.id)).not.toContain(more[0].id);

    expect(await accounts.delete(alone.id, { project_id: p })).toMatchObject({ id: alone.id, deleted: true });
    expect((await all(org.projects.apiKeys.list(p))).map((k) => k.id)).toEqual([first.api_key?.id]);
  });

  it('admin API keys: create with expires_in_seconds, an owner object, both orders across pages, delete', async () => {
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await org.adminAPIKeys.create({ name: `SDK admin ${i}`, expires_in_seconds: 600 }));
    expect(made[0].value).toMatch(/^sk-tg-admin-/);
    expect(made[0].expires_at).toBe(made[0].created_at + 600);
    expect(made[0].owner).toMatchObject({ type: 'organization', id: t.orgId });
    expect((await org.adminAPIKeys.retrieve(made[0].id)).name).toBe('SDK admin 0');
    const asc = (await all(org.adminAPIKeys.list({ limit: 2 }))).map((k) => k.id);
    const desc = (await all(org.adminAPIKeys.list({ limit: 2, order: 'desc' }))).map((k) => k.id);
    expect(asc).toEqual(expect.arrayContaining(made.map((k) => k.id)));
    expect(desc).toEqual([...asc].reverse());
    expect(await org.adminAPIKeys.delete(made[0].id)).toMatchObject({ id: made[0].id, deleted: true });
    await expect(org.adminAPIKeys.retrieve(made[0].id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(org.adminAPIKeys.create({ name: 'x', expires_in_seconds: 0 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('invites: create with projects, retrieve, every page, delete', async () => {
    const p = (await org.projects.create({ name: 'SDK invites' })).id;
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await org.invites.create({ email: `sdk${i}@example.com`, role: 'reader', projects: [{ id: p, role: 'member' }] }));
    expect(made[0]).toMatchObject({ object: 'organization.invite', status: 'pending', projects: [{ id: p, role: 'member' }] });
    expect(made[0].created_at).toBeTypeOf('number');
    expect((await org.invites.retrieve(made[1].id)).email).toBe('sdk1@example.com');
    expect((await all(org.invites.list({ limit: 2 }))).map((i) => i.id)).toEqual(expect.arrayContaining(made.map((i) => i.id)));
    expect(await org.invites.delete(made[0].id)).toMatchObject({ id: made[0].id, deleted: true });
    await expect(org.invites.retrieve(made[0].id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('users and project users: the emails filter, update, add by email, every page, remove', async () => {
    const made = [];
    for (let i = 0; i < 4; i++) made.push((await t.api('POST', '/v1/organization/users', { body: { email: `sdk.user${i}@example.com` } })).body);
    const two = await all(org.users.list({ emails: ['sdk.user1@example.com', 'SDK.USER3@example.com'], limit: 1 }));
    expect(two.map((u) => u.id)).toEqual([made[1].id, made[3].id]);
    expect((await all(org.users.list({ limit: 2 }))).map((u) => u.id)).toEqual(expect.arrayContaining(made.map((u) => u.id)));
    expect(await org.users.update(made[0].id, { role: 'owner', technical_level: 'expert' })).toMatchObject({ role: 'owner', technical_level: 'expert' });
    expect((await org.users.retrieve(made[0].id)).role).toBe('owner');

    const p = (await org.projects.create({ name: 'SDK members' })).id;
    const members = org.projects.users;
    for (const u of made) await members.create(p, { email: u.email, role: 'member' });
    expect((await all(members.list(p, { limit: 3 }))).map((m) => m.id)).toEqual(made.map((u) => u.id));
    expect(await members.update(made[1].id, { project_id: p, role: 'owner' })).toMatchObject({ role: 'owner' });
    expect((await members.retrieve(made[1].id, { project_id: p })).role).toBe('owner');
    expect(await members.delete(made[2].id, { project_id: p })).toMatchObject({ id: made[2].id, deleted: true });
    await expect(members.retrieve(made[2].id, { project_id: p })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(await org.users.delete(made[3].id)).toMatchObject({ id: made[3].id, deleted: true });
    await expect(org.users.retrieve(made[3].id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

// The list above reads every page through the SDK's cursor; this checks it truly took several.
describe('the SDK follows cursors', () => {
  it('asks for the next page with the last id it saw', async () => {
    const t = await startTestServer({ name: 'sqlite' });
    try {
      const seen: string[] = [];
      const client = new OpenAI({
        adminAPIKey: t.adminKey,
        baseURL: `${t.url}/v1`,
        maxRetries: 0,
        fetch: (url, init) => {
          seen.push(String(url));
          return fetch(url, init);
        },
      });
      for (let i = 0; i < 5; i++) await client.admin.organization.projects.create({ name: `Paged ${i}` });
      const ids = [];
      for await (const p of client.admin.organization.projects.list({ limit: 2 })) ids.push(p.id);
      expect(ids).toHaveLength(6); // and the Default project
      const lists = seen.filter((u) => u.includes('/organization/projects?'));
      expect(lists).toHaveLength(3);
      expect(lists[1]).toContain(`after=${ids[1]}`);
      expect(lists[2]).toContain(`after=${ids[3]}`);
    } finally {
      await t.close();
    }
  });
});
