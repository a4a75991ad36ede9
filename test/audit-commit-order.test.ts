import { afterEach, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { sideConnection, startTestServer, type TestServer } from './harness/server.js';

// Found by review: on PostgreSQL an entry was numbered (and timed) when it was inserted, not when it committed. A
// transaction that wrote its entry and stayed open (here a leak report waiting for an invitation's row) committed it
// below an entry that a later transaction had committed meanwhile: a client that had read that later entry as the
// newest and polled with `before=` its id (or `effective_at[gte]=` its time), as an exporter does, never saw the
// `api_key.exposed` entry. Entries are now numbered in the order they commit, and none is timed earlier than one
// committed before it (docs/audit-log.md, "Reading new entries").

const ORG = '/v1/organization';
type Entry = { id: string; type: string; effective_at: number };

const closing: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
});

describeEachDatabase('audit log: a client polling for entries newer than the newest it has seen', (backend) => {
  /**
   * Starts a leak report of an admin key that waits, its entry written and not committed, on an invitation the key
   * sent (its row held by another connection), while a project created meanwhile commits its own entry. Answers the
   * entries read then, and a function that lets the report commit.
   */
  async function reportHeldOpenWhileAnotherCommits(t: TestServer, tick: () => void) {
    const a2 = (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'ci' } })).body;
    const inv = await t.api('POST', `${ORG}/invites`, { key: a2.value, body: { email: 'x@example.com', role: 'reader' } });
    expect(inv.status).toBe(200);
    const side = await sideConnection(t, backend.url as string);
    closing.push(() => side.end());
    await side.query('BEGIN');
    await side.query('SELECT id FROM invites WHERE id = $1 FOR UPDATE', [inv.body.id]);
    const exposing = t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: a2.value, url: 'https://example.com/leak' }] } });
    // The report's transaction has written its entry and waits for the invitation's row.
    for (let i = 0; i < 100; i++) {
      const { rows } = await side.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))');
      if (rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    tick();
    expect((await t.api('POST', `${ORG}/projects`, { body: { name: 'later' } })).status).toBe(200);
    const first = (await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data as Entry[];
    expect(first[0]?.type).toBe('project.created');
    return {
      first,
      commit: async () => {
        await side.query('ROLLBACK');
        expect((await exposing).status).toBe(200);
      },
    };
  }

  it.runIf(backend.name === 'postgres')('with before= the newest id: never misses an entry that committed after a later one', async () => {
    const t = await startTestServer(backend);
    closing.push(() => t.close());
    const { first, commit } = await reportHeldOpenWhileAnotherCommits(t, () => {});
    const seen = new Set(first.map((e) => e.id));
    await commit();
    const next = (await t.api('GET', `${ORG}/audit_logs?limit=100&before=${first[0].id}`)).body.data as Entry[];
    for (const e of next) seen.add(e.id);
    const all = (await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data as Entry[];
    expect(all.filter((e) => !seen.has(e.id)).map((e) => e.type)).toEqual([]);
    // The report's entries (its key's, and the invitation the key sent, withdrawn with it), newest first as committed.
    expect(next.map((e) => e.type)).toEqual(['invite.deleted', 'api_key.exposed']);
    expect(all.slice(0, 3).map((e) => e.type)).toEqual(['invite.deleted', 'api_key.exposed', 'project.created']);
    // Paging back from the newest reaches every other entry once.
    const back = (await t.api('GET', `${ORG}/audit_logs?limit=100&after=${all[0].id}`)).body.data as Entry[];
    expect(back.map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
  });

  it.runIf(backend.name === 'postgres')('with effective_at[gte]= the newest time: never misses an entry that committed after a later one', async () => {
    let now = Date.now();
    const t = await startTestServer(backend, { clock: () => now });
    closing.push(() => t.close());
    // The project is created 5 seconds after the report wrote its entry.
    const { first, commit } = await reportHeldOpenWhileAnotherCommits(t, () => {
      now += 5000;
    });
    const seen = new Set(first.map((e) => e.id));
    const newest = first[0].effective_at;
    await commit();
    const next = (await t.api('GET', `${ORG}/audit_logs?limit=100&effective_at[gte]=${newest}`)).body.data as Entry[];
    for (const e of next) seen.add(e.id);
    const all = (await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data as Entry[];
    expect(all.filter((e) => !seen.has(e.id)).map((e) => e.type)).toEqual([]);
    // Times follow the log's order: none is earlier than one listed before it (older).
    const times = all.map((e) => e.effective_at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(all[1]).toMatchObject({ type: 'api_key.exposed', effective_at: newest });
  });

  it('entries of one transaction keep their order, and every one is numbered once', async () => {
    const t = await startTestServer(backend);
    closing.push(() => t.close());
    // A service account's creation writes its own entry and its first key's, in one transaction.
    const projects = (await t.api('GET', `${ORG}/projects`)).body.data;
    const sa = await t.api('POST', `${ORG}/projects/${projects[0].id}/service_accounts`, { body: { name: 'bot' } });
    expect(sa.status).toBe(200);
    const all = (await t.api('GET', `${ORG}/audit_logs?limit=100`)).body.data as Entry[];
    expect(all.slice(0, 2).map((e) => e.type)).toEqual(['api_key.created', 'service_account.created']);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });
});
