import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// The list filters of the admin API read a value with commas as a list, as the Usage API does (`project_ids=a,b`):
// `GET /organization/users?emails=a@x.com,b@x.com` answered an empty 200, the two addresses taken as one.
// OpenAI's spec leaves these parameters in the default form style (the name repeated); its SDKs send `name[]=a`.
// A comma is in no id, address or event type, so splitting on it reads no real value wrongly.

const ORG = '/v1/organization';
let t: TestServer;
const users: string[] = [];
let other: string;

beforeAll(async () => {
  t = await startTestServer({ name: 'sqlite' });
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) users.push((await t.api('POST', `${ORG}/users`, { body: { email, role: 'reader' } })).body.id);
  other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Other' } })).body.id;
});
afterAll(async () => t?.close());

async function ids(path: string): Promise<string[]> {
  const res = await t.api('GET', path);
  expect(res.status, `${path}: ${res.text.slice(0, 300)}`).toBe(200);
  return res.body.data.map((x: { id: string }) => x.id);
}

it('users: emails given as a, b in one value, as repeated values or as emails[]', async () => {
  const both = [users[0], users[1]];
  expect(await ids(`${ORG}/users?emails=a@example.com,B@example.com`)).toEqual(both);
  expect(await ids(`${ORG}/users?emails[]=a@example.com,%20b@example.com`)).toEqual(both);
  expect(await ids(`${ORG}/users?emails=a@example.com&emails=b@example.com`)).toEqual(both);
  expect(await ids(`${ORG}/users?emails=,`)).toEqual([]);
});

it('audit logs: project_ids, event_types and resource_ids given as a, b in one value', async () => {
  const projects = [t.defaultProjectId, other];
  const byProject = async (q: string) => new Set((await t.api('GET', `${ORG}/audit_logs?limit=100&${q}`)).body.data.map((e: { project?: { id: string } }) => e.project?.id));
  expect(await byProject(`project_ids[]=${projects.join(',')}`)).toEqual(await byProject(projects.map((p) => `project_ids[]=${p}`).join('&')));
  expect((await byProject(`project_ids[]=${projects.join(',')}`)).has(other)).toBe(true);
  const typed = await ids(`${ORG}/audit_logs?limit=100&event_types[]=user.added,project.created`);
  expect(typed).toEqual(await ids(`${ORG}/audit_logs?limit=100&event_types[]=user.added&event_types=project.created`));
  expect(typed.length).toBeGreaterThanOrEqual(4);
  expect(await ids(`${ORG}/audit_logs?limit=100&resource_ids[]=${users[0]},${users[1]}`)).toHaveLength(2);
});
