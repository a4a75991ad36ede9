import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// A project key's owner is shown as the key's project sees them: OpenAI's ProjectApiKeyOwnerUser.role is "The user's
// project role". An outside review found the organization role (users.role) there, and the organization's added_at:
// an organization reader who owns the project was shown as `reader`, added when they joined the organization.

const ORG = '/v1/organization';
// biome-ignore lint/suspicious/noExplicitAny: answers are arbitrary JSON
type Json = Record<string, any>;

describeEachDatabase("a project key's owner, as the project sees them", (backend) => {
  let t: TestServer;
  let now = Date.UTC(2030, 0, 1);
  const later = () => {
    now += 3_600_000;
  };
  beforeAll(async () => {
    t = await startTestServer(backend, { clock: () => now });
  });
  afterAll(async () => t?.close());

  async function ok(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await t.api(method, path, { body });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).toBe(200);
    return res.body;
  }
  const keyIn = (project: string, id: string, query = '') => ok('GET', `${ORG}/projects/${project}/api_keys/${id}${query}`);
  const listed = async (project: string, id: string) =>
    (await ok('GET', `${ORG}/projects/${project}/api_keys?limit=100`)).data.find((k: Json) => k.id === id);

  it("shows the member's project role and when they joined the project, on every read", async () => {
    const P = t.defaultProjectId;
    const Q = (await ok('POST', `${ORG}/projects`, { name: 'second' })).id;
    const user = await ok('POST', `${ORG}/users`, { email: 'm@example.com' }); // organization reader
    later();
    await ok('POST', `${ORG}/projects/${P}/users`, { user_id: user.id, role: 'owner' });
    later();
    await ok('POST', `${ORG}/projects/${Q}/users`, { user_id: user.id, role: 'member' });
    const inP = await ok('GET', `${ORG}/projects/${P}/users/${user.id}`);
    const inQ = await ok('GET', `${ORG}/projects/${Q}/users/${user.id}`);
    expect([user.role, inP.role, inQ.role]).toEqual(['reader', 'owner', 'member']);
    expect(inP.added_at).toBeGreaterThan(user.added_at);

    const keyP = await ok('POST', `${ORG}/projects/${P}/api_keys`, { name: 'p', owner: user.id });
    const keyQ = await ok('POST', `${ORG}/projects/${Q}/api_keys`, { name: 'q', owner: user.id });
    expect(keyP.owner.user).toMatchObject({ object: 'organization.project.user', id: user.id, role: 'owner', added_at: inP.added_at, created_at: user.added_at });
    for (const k of [await keyIn(P, keyP.id), await listed(P, keyP.id)]) expect(k.owner.user).toEqual(keyP.owner.user);
    expect((await keyIn(Q, keyQ.id)).owner.user).toMatchObject({ role: 'member', added_at: inQ.added_at });

    // A role changed in the project shows on the key; the organization role is not the project's.
    await ok('POST', `${ORG}/projects/${P}/users/${user.id}`, { role: 'reader' });
    expect((await keyIn(P, keyP.id)).owner.user.role).toBe('reader');
    await ok('POST', `${ORG}/users/${user.id}`, { role: 'owner' });
    expect((await keyIn(P, keyP.id)).owner.user.role).toBe('reader');

    // An organization owner who is no member manages every project: `owner` there, added when they joined.
    const boss = await ok('POST', `${ORG}/users`, { email: 'boss@example.com', role: 'owner' });
    const bossKey = await ok('POST', `${ORG}/projects/${Q}/api_keys`, { name: 'boss', owner: boss.id });
    expect(bossKey.owner.user).toMatchObject({ role: 'owner', added_at: boss.added_at });
    expect(bossKey.owner_project_access).toBe('active');

    // Taken out of the project: the key stays, its owner without access and without a role there.
    await ok('POST', `${ORG}/users/${user.id}`, { role: 'reader' });
    await ok('DELETE', `${ORG}/projects/${Q}/users/${user.id}`);
    const orphan = await keyIn(Q, keyQ.id);
    expect([orphan.owner_project_access, orphan.owner.user.role]).toEqual(['inactive', 'none']);
    expect((await keyIn(P, keyP.id)).owner.user.role).toBe('reader');

    // Removed from the organization: the revoked key, asked for, names no project role either.
    await ok('DELETE', `${ORG}/users/${boss.id}`);
    expect((await keyIn(Q, bossKey.id, '?include_revoked=true')).owner.user.role).toBe('none');
  });
});
