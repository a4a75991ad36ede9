import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by review: an invitation naming one project twice (`member`, then `owner`) was a 200 storing and showing both,
// and the sign-up made the first membership and dropped the second without a word. It is refused, naming the second.

const ORG = '/v1/organization';

describeEachDatabase('an invitation naming a project twice', (backend) => {
  let t: TestServer;
  let other: string;
  beforeAll(async () => {
    t = await startTestServer(backend);
    other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Other' } })).body.id;
  });
  afterAll(async () => t?.close());

  const pending = async () => (await t.api('GET', `${ORG}/invites`)).body.data;

  it('is refused, naming the second entry, and nothing is sent', async () => {
    const r = await t.api('POST', `${ORG}/invites`, {
      body: {
        email: 'dup@example.com',
        role: 'reader',
        projects: [
          { id: t.defaultProjectId, role: 'member' },
          { id: other, role: 'member' },
          { id: other, role: 'owner' },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      message: `Invalid value for 'projects.2.id': the project '${other}' is named already, as projects.1.id; name each project once, with one role`,
      type: 'invalid_request_error',
      param: 'projects.2.id',
      code: 'invalid_value',
    });
    expect(await pending()).toEqual([]);
    const audit = await t.api('GET', `${ORG}/audit_logs?event_types[]=invite.sent`);
    expect(audit.body.data).toEqual([]);
  });

  it('with the same role twice too', async () => {
    const r = await t.api('POST', `${ORG}/invites`, {
      body: { email: 'dup@example.com', role: 'reader', projects: [{ id: other, role: 'member' }, { id: other, role: 'member' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_value', param: 'projects.1.id' });
  });

  it('an unknown project is named the way its param is', async () => {
    const r = await t.api('POST', `${ORG}/invites`, {
      body: { email: 'dup@example.com', role: 'reader', projects: [{ id: other, role: 'member' }, { id: 'proj_nope', role: 'member' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_value', param: 'projects.1.id', message: "Invalid value for 'projects.1.id': no active project 'proj_nope'." });
  });

  it('each project once is sent as before', async () => {
    const r = await t.api('POST', `${ORG}/invites`, {
      body: { email: 'fine@example.com', role: 'reader', projects: [{ id: t.defaultProjectId, role: 'member' }, { id: other, role: 'owner' }] },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.projects).toEqual([
      { id: t.defaultProjectId, role: 'member' },
      { id: other, role: 'owner' },
    ]);
  });
});
