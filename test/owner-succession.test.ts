import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { joinAs, SessionClient, signUpOwner } from './harness/session-client.js';

// An organization must keep an owner who can sign in, and an owner's power must end with their ownership: a demoted
// owner kept every owner's right through the admin keys they had made (and promoted themself back with one), and the
// last owner could be demoted or removed, leaving nobody to run the organization from the dashboard.

const ORG = '/v1/organization';

describeEachDatabase('owners come and go', (backend) => {
  let t: TestServer;
  let owner: SessionClient;
  let ownerId: string;

  beforeAll(async () => {
    t = await startTestServer(backend);
    owner = await signUpOwner(t);
    ownerId = (await owner.call('GET', '/auth/me')).body.user.id;
  });
  afterAll(async () => t?.close());

  const idOf = async (c: SessionClient) => (await c.call('GET', '/auth/me')).body.user.id as string;
  const audit = (type: string) =>
    t.server.runtime.database.db.selectFrom('audit_logs').select(['object_id', 'actor_id', 'details']).where('type', '=', type).orderBy('seq').execute();

  it('refuses to demote or remove the last owner who can sign in, by session or admin key, and changes nothing', async () => {
    const selfDemote = await owner.call('POST', `${ORG}/users/${ownerId}`, { role: 'reader' });
    expect(selfDemote.status).toBe(409);
    expect(selfDemote.body.error).toMatchObject({ code: 'conflict', param: 'user_id' });
    expect(selfDemote.body.error.message).toMatch(/last owner/);
    const byKey = await t.api('POST', `${ORG}/users/${ownerId}`, { body: { role: 'reader' } });
    expect(byKey.status).toBe(409);
    const removed = await t.api('DELETE', `${ORG}/users/${ownerId}`);
    expect(removed.status).toBe(409);
    const selfRemoved = await owner.call('DELETE', `${ORG}/users/${ownerId}`);
    expect(selfRemoved.status).toBe(409);
    // Still the owner, still signed in, nothing audited as changed.
    const me = await owner.call('GET', '/auth/me');
    expect(me.body.role).toBe('owner');
    expect((await audit('user.updated')).filter((r) => r.object_id === ownerId)).toEqual([]);
    expect((await audit('user.deleted')).filter((r) => r.object_id === ownerId)).toEqual([]);
    // An owner added through the admin API who never signed up does not count as one who can run the organization.
    const pending = await t.api('POST', `${ORG}/users`, { body: { email: 'pending-owner@example.com', role: 'owner' } });
    expect(pending.status).toBe(200);
    expect((await t.api('POST', `${ORG}/users/${ownerId}`, { body: { role: 'reader' } })).status).toBe(409);
    // …and may itself be demoted or removed freely.
    expect((await t.api('POST', `${ORG}/users/${pending.body.id}`, { body: { role: 'reader' } })).status).toBe(200);
    expect((await t.api('DELETE', `${ORG}/users/${pending.body.id}`)).status).toBe(200);
  });

  it("revokes a demoted owner's admin keys at once (and those made with them), audited; the owner is demoted", async () => {
    const second = await joinAs(t, owner, 'second-owner@example.com', 'owner');
    const secondId = await idOf(second);
    const made = await second.call('POST', `${ORG}/admin_api_keys`, { name: 'second owner key' });
    expect(made.status).toBe(200);
    // A key made with that key belongs to the same person.
    const chained = await t.api('POST', `${ORG}/admin_api_keys`, { key: made.body.value, body: { name: 'made by key' } });
    expect(chained.status).toBe(200);
    expect(chained.body.owner).toMatchObject({ type: 'user', id: secondId });
    const orgOwned = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'org key' } });

    const demoted = await owner.call('POST', `${ORG}/users/${secondId}`, { role: 'reader' });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe('reader');
    for (const key of [made.body.value, chained.body.value]) {
      expect((await t.api('GET', `${ORG}/projects`, { key })).status).toBe(401);
      // No way back: the key cannot promote its former owner again.
      expect((await t.api('POST', `${ORG}/users/${secondId}`, { key, body: { role: 'owner' } })).status).toBe(401);
    }
    expect((await t.api('GET', `${ORG}/projects`, { key: orgOwned.body.value })).status).toBe(200);
    expect((await t.api('GET', `${ORG}/projects`)).status).toBe(200);
    const deleted = await audit('admin_api_key.deleted');
    expect(deleted.map((r) => r.object_id).sort()).toEqual([made.body.id, chained.body.id].sort());
    expect(deleted.every((r) => r.actor_id === ownerId)).toBe(true);
    // The person's session now reads only.
    expect((await second.call('POST', `${ORG}/admin_api_keys`, { name: 'again' })).status).toBe(403);
  });

  it('withdraws the pending invites a demoted owner sent (by session or with their admin keys); others stay', async () => {
    const fourth = await joinAs(t, owner, 'fourth-owner@example.com', 'owner');
    const fourthId = await idOf(fourth);
    const key = await fourth.call('POST', `${ORG}/admin_api_keys`, { name: 'fourth owner key' });
    const bySession = await fourth.call('POST', `${ORG}/invites`, { email: 'accomplice@example.com', role: 'owner' });
    const byKey = await t.api('POST', `${ORG}/invites`, { key: key.body.value, body: { email: 'accomplice2@example.com', role: 'owner' } });
    const byOther = await owner.call('POST', `${ORG}/invites`, { email: 'colleague@example.com', role: 'reader' });
    expect([bySession.status, byKey.status, byOther.status]).toEqual([200, 200, 200]);
    expect((await owner.call('POST', `${ORG}/users/${fourthId}`, { role: 'reader' })).status).toBe(200);
    for (const [invite, email] of [
      [bySession.body, 'accomplice@example.com'],
      [byKey.body, 'accomplice2@example.com'],
    ] as const) {
      const token = new URL(invite.accept_url.replace('/#/', '/')).searchParams.get('token');
      const accepted = await new SessionClient(t.url).call('POST', '/auth/signup', { email, password: 'accomplice long password', invite_token: token });
      expect(accepted.status).toBe(400);
      expect(accepted.body.error.param).toBe('invite_token');
    }
    const pending = (await owner.call('GET', `${ORG}/invites`)).body.data.map((i: { id: string }) => i.id);
    expect(pending).toContain(byOther.body.id);
    expect(pending).not.toContain(bySession.body.id);
    expect((await audit('invite.deleted')).map((r) => r.object_id)).toEqual(expect.arrayContaining([bySession.body.id, byKey.body.id]));
  });

  it('deleting an admin key, or reporting it exposed, withdraws the invites sent with it; others stay', async () => {
    const pendingIds = async () => (await owner.call('GET', `${ORG}/invites`)).body.data.map((i: { id: string }) => i.id);
    const byOwner = await owner.call('POST', `${ORG}/invites`, { email: 'stays@example.com', role: 'reader' });
    for (const [how, email] of [
      ['deleted', 'leaked-key-invitee@example.com'],
      ['exposed', 'leaked-key-invitee2@example.com'],
    ] as const) {
      const key = await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: `about to leak (${how})` } });
      const sent = await t.api('POST', `${ORG}/invites`, { key: key.body.value, body: { email, role: 'owner' } });
      expect(sent.status).toBe(200);
      expect(await pendingIds()).toContain(sent.body.id);
      if (how === 'deleted') expect((await t.api('DELETE', `${ORG}/admin_api_keys/${key.body.id}`)).status).toBe(200);
      else expect((await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: key.body.value }] } })).body.data[0].label).toBe('true_positive');
      const token = new URL(sent.body.accept_url.replace('/#/', '/')).searchParams.get('token');
      const accepted = await new SessionClient(t.url).call('POST', '/auth/signup', { email, password: 'accomplice long password', invite_token: token });
      expect(accepted.status, how).toBe(400);
      expect(accepted.body.error.param).toBe('invite_token');
      expect(await pendingIds()).not.toContain(sent.body.id);
      expect((await audit('invite.deleted')).map((r) => r.object_id)).toContain(sent.body.id);
    }
    expect(await pendingIds()).toContain(byOwner.body.id);
  });

  it('removing an owner revokes their admin keys, audited as admin key deletions', async () => {
    const third = await joinAs(t, owner, 'third-owner@example.com', 'owner');
    const thirdId = await idOf(third);
    const made = await third.call('POST', `${ORG}/admin_api_keys`, { name: 'third owner key' });
    expect((await t.api('DELETE', `${ORG}/users/${thirdId}`)).status).toBe(200);
    expect((await t.api('GET', `${ORG}/projects`, { key: made.body.value })).status).toBe(401);
    expect((await audit('admin_api_key.deleted')).map((r) => r.object_id)).toContain(made.body.id);
    expect((await audit('api_key.deleted')).map((r) => r.object_id)).not.toContain(made.body.id);
  });

  // Keys made while their owner is being removed: each is refused, or made and then revoked by the removal; none
  // outlives it. On PostgreSQL every one of fifteen such keys survived when the owner was checked outside the insert.
  const activeKeysOf = (ownerId: string) =>
    t.server.runtime.database.db.selectFrom('api_keys').select('id').where('owner_id', '=', ownerId).where('status', '=', 'active').execute();
  const raced = <T>(makes: Array<Promise<T>>, removal: () => Promise<{ status: number }>) =>
    Promise.all([Promise.all(makes), new Promise((r) => setTimeout(r, 5)).then(removal)]);

  it('no key a user was making while being removed outlives the removal', async () => {
    const leaving = await joinAs(t, owner, 'leaving@example.com', 'reader', [{ id: t.defaultProjectId, role: 'member' }]);
    const leavingId = await idOf(leaving);
    const makes = Array.from({ length: 15 }, (_, i) => leaving.call('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { name: `leaving ${i}` }));
    const [made, removed] = await raced(makes, () => t.api('DELETE', `${ORG}/users/${leavingId}`));
    expect(removed.status).toBe(200);
    // 404: made, then revoked by the removal before the answer read it back.
    for (const r of made) expect([200, 400, 401, 403, 404]).toContain(r.status);
    expect(await activeKeysOf(leavingId)).toEqual([]);
  });

  it("no key made for a service account while it is deleted outlives it", async () => {
    const svc = await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/service_accounts`, { body: { name: 'short-lived' } });
    const base = `${ORG}/projects/${t.defaultProjectId}/service_accounts/${svc.body.id}`;
    const makes = Array.from({ length: 15 }, (_, i) => t.api('POST', `${base}/api_keys`, { body: { name: `svc ${i}` } }));
    const [made, removed] = await raced(makes, () => t.api('DELETE', base));
    expect(removed.status).toBe(200);
    for (const r of made) expect([200, 404]).toContain(r.status);
    expect(await activeKeysOf(svc.body.id)).toEqual([]);
  });

  it('no admin key an owner was making while being demoted outlives the demotion', async () => {
    const going = await joinAs(t, owner, 'demoted-maker@example.com', 'owner');
    const goingId = await idOf(going);
    const makes = Array.from({ length: 15 }, (_, i) => going.call('POST', `${ORG}/admin_api_keys`, { name: `going ${i}` }));
    const [made, demoted] = await raced(makes, () => owner.call('POST', `${ORG}/users/${goingId}`, { role: 'reader' }));
    expect(demoted.status).toBe(200);
    for (const r of made) expect([200, 403]).toContain(r.status);
    expect(await activeKeysOf(goingId)).toEqual([]);
  });

  it('no invite an owner was sending while being demoted outlives the demotion', async () => {
    const going = await joinAs(t, owner, 'demoted-inviter@example.com', 'owner');
    const goingId = await idOf(going);
    const key = await going.call('POST', `${ORG}/admin_api_keys`, { name: 'inviter key' });
    const makes = Array.from({ length: 40 }, (_, i) =>
      i % 2
        ? going.call('POST', `${ORG}/invites`, { email: `invited-${i}@example.com`, role: 'owner' })
        : t.api('POST', `${ORG}/invites`, { key: key.body.value, body: { email: `invited-${i}@example.com`, role: 'owner' } }),
    );
    const [made, demoted] = await raced(makes, () => owner.call('POST', `${ORG}/users/${goingId}`, { role: 'reader' }));
    expect(demoted.status).toBe(200);
    // 404: sent, then withdrawn by the demotion before the answer read it back.
    for (const r of made) expect([200, 401, 403, 404]).toContain(r.status);
    const left = await t.server.runtime.database.db
      .selectFrom('invites')
      .select('id')
      .where('invited_by_id', 'in', [goingId, key.body.id])
      .where('deleted_at', 'is', null)
      .execute();
    expect(left).toEqual([]);
  });

  it('two owners demoting each other at once: one succeeds, one owner is left', async () => {
    const a = await joinAs(t, owner, 'race-a@example.com', 'owner');
    const aId = await idOf(a);
    // Leave the race's two as the only owners who can sign in.
    const b = owner;
    const [ab, ba] = await Promise.all([a.call('POST', `${ORG}/users/${ownerId}`, { role: 'reader' }), b.call('POST', `${ORG}/users/${aId}`, { role: 'reader' })]);
    // The loser is refused: 409 when both got past their role check, 403 when the winner's change was already made.
    const statuses = [ab.status, ba.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const owners = await t.server.runtime.database.db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'owner')
      .where('deleted_at', 'is', null)
      .where('password_hash', 'is not', null)
      .execute();
    expect(owners).toHaveLength(1);
  });
});

// Two instances on one PostgreSQL database (with Redis when TEST_REDIS_URL is set, else the database feed alone): an
// admin key revoked on one, by its deletion or by its owner's demotion, is refused there at once and by the other
// within the poll interval (docs/deployment.md, revocation bound).
describeEachDatabase('admin keys end everywhere', (backend) => {
  let a: TestServer;
  let b: TestServer;
  const redis = process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : undefined;

  beforeAll(async () => {
    if (backend.name !== 'postgres') return;
    a = await startTestServer(backend, { keepSchema: true, env: redis });
    b = await startTestServer(backend, { schema: a.schema, env: redis });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const refusedBy = async (s: TestServer, key: string) => {
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      if ((await s.api('GET', `${ORG}/projects`, { key })).status === 401) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  };

  // One SQLite file is one instance: the SQLite variant has nothing to run.
  it.skipIf(backend.name !== 'postgres')('a deleted admin key, and one whose owner is demoted, are refused by both instances', async () => {
    const owner = await signUpOwner(a);
    const second = await joinAs(a, owner, 'second@example.com', 'owner');
    const deleted = await a.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'to delete' } });
    const owned = await second.call('POST', `${ORG}/admin_api_keys`, { name: "second's" });
    for (const key of [deleted.body.value, owned.body.value]) {
      expect((await a.api('GET', `${ORG}/projects`, { key })).status).toBe(200);
      expect((await b.api('GET', `${ORG}/projects`, { key })).status).toBe(200); // both caches hold it
    }
    expect((await a.api('DELETE', `${ORG}/admin_api_keys/${deleted.body.id}`)).status).toBe(200);
    const secondId = (await second.call('GET', '/auth/me')).body.user.id;
    expect((await owner.call('POST', `${ORG}/users/${secondId}`, { role: 'reader' })).status).toBe(200);
    for (const key of [deleted.body.value, owned.body.value]) {
      expect((await a.api('GET', `${ORG}/projects`, { key })).status).toBe(401);
      expect(await refusedBy(b, key)).toBe(true);
    }
  });
});

// An invite accepted while its sender is demoted: it stays accepted, and the demotion does not audit it as withdrawn
// (it did, for 7 of 11 such invites on PostgreSQL). Its own server: the sign-ups come from many addresses (through a
// trusted proxy), so the invitations the demotion does withdraw do not lock the test's one address out.
describeEachDatabase('invites accepted while their sender is demoted', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => t?.close());

  it('stay accepted and are not audited as withdrawn', async () => {
    const owner = await signUpOwner(t);
    const db = t.server.runtime.database.db;
    let both = 0;
    for (let round = 0; round < 3; round++) {
      const going = await joinAs(t, owner, `inviter-${round}@example.com`, 'owner');
      const goingId = (await going.call('GET', '/auth/me')).body.user.id;
      const links: Array<[string, string]> = [];
      for (let i = 0; i < 12; i++) {
        const email = `accepting-${round}-${i}@example.com`;
        const inv = await going.call('POST', `${ORG}/invites`, { email, role: 'reader' });
        links.push([email, new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token') as string]);
      }
      const accepts = links.map(([email, token], i) =>
        fetch(`${t.url}/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${round * 20 + i + 1}` },
          body: JSON.stringify({ email, password: 'accepting long password', invite_token: token }),
        }),
      );
      await new Promise((r) => setTimeout(r, 40 + round * 30));
      const demoted = owner.call('POST', `${ORG}/users/${goingId}`, { role: 'reader' });
      for (const r of await Promise.all(accepts)) expect([200, 400]).toContain(r.status);
      expect((await demoted).status).toBe(200);
      const accepted = await db.selectFrom('invites').select('id').where('invited_by_id', '=', goingId).where('accepted_at', 'is not', null).execute();
      const withdrawn = new Set((await db.selectFrom('audit_logs').select('object_id').where('type', '=', 'invite.deleted').execute()).map((r) => r.object_id));
      both += accepted.filter((i) => withdrawn.has(i.id)).length;
    }
    expect(both).toBe(0);
  });
});

// An instance upgraded from before demotion revoked admin keys may hold live admin keys of owners since made readers:
// the next start revokes them, audited, and leaves those of owners and of the organization alone.
describeEachDatabase('admin keys of former owners, at start', (backend) => {
  it('are revoked at the next start', async () => {
    const first = await startTestServer(backend, { keepSchema: true });
    const dataDir = first.dataDir;
    const owner = await signUpOwner(first);
    const former = await joinAs(first, owner, 'former-owner@example.com', 'owner');
    const formerId = (await former.call('GET', '/auth/me')).body.user.id;
    const stale = await former.call('POST', `${ORG}/admin_api_keys`, { name: 'made before the fix' });
    const kept = await owner.call('POST', `${ORG}/admin_api_keys`, { name: "a current owner's" });
    // The state an older version left: demoted, the key untouched.
    await first.server.runtime.database.db.updateTable('users').set({ role: 'reader' }).where('id', '=', formerId).execute();
    expect((await first.api('GET', `${ORG}/projects`, { key: stale.body.value })).status).toBe(200);
    await first.server.close();

    const again = await startTestServer(backend, { dataDir, schema: first.schema });
    try {
      expect((await again.api('GET', `${ORG}/projects`, { key: stale.body.value })).status).toBe(401);
      expect((await again.api('GET', `${ORG}/projects`, { key: kept.body.value })).status).toBe(200);
      expect((await again.api('GET', `${ORG}/projects`)).status).toBe(200);
      const entries = await again.server.runtime.database.db
        .selectFrom('audit_logs')
        .select(['object_id', 'actor_type'])
        .where('type', '=', 'admin_api_key.deleted')
        .execute();
      expect(entries).toEqual([{ object_id: stale.body.id, actor_type: 'system' }]);
    } finally {
      await again.close();
    }
  });
});
