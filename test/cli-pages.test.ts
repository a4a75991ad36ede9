import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { startTestServer, type TestServer } from './harness/server.js';

// A list command shows the whole list, every page of it (found by a review: `projects list` and `admin-keys list`
// printed the first 100 of 102 and exited 0; `--json` said has_more and asked no further).

const ORG = '/v1/organization';
let t: TestServer;

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, ...args], { env: { LOG_LEVEL: 'silent' }, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

beforeAll(async () => {
  t = await startTestServer({ name: 'sqlite' });
  for (let i = 1; i <= 101; i++) {
    expect((await t.api('POST', `${ORG}/projects`, { body: { name: `p${i}` } })).status).toBe(200);
    expect((await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: `a${i}` } })).status).toBe(200);
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: `k${i}` } })).status).toBe(200);
    const user = await t.api('POST', `${ORG}/users`, { body: { email: `u${i}@example.com` } });
    expect(user.status).toBe(200);
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/users`, { body: { user_id: user.body.id, role: 'member' } })).status).toBe(200);
    expect((await t.api('POST', `${ORG}/invites`, { body: { email: `i${i}@example.com`, role: 'reader' } })).status).toBe(200);
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/service_accounts`, { body: { name: `s${i}`, create_service_account_only: true } })).status).toBe(200);
  }
}, 60_000);
afterAll(async () => t?.close());

// Each list's items told apart by their id (users and invites by email: two users may share a name).
it.each([
  ['projects', 102, 'p101'],
  ['admin-keys', 102, 'a101'],
  ['keys', 101, 'k101'],
  ['users', 101, 'u101@example.com'],
  ['invites', 101, 'i101@example.com'],
  ['projects users', 101, 'u101@example.com'],
  ['service-accounts', 102, 's101'],
])('%s list reads every page', async (command, count, last) => {
  const json = await cli('--json', ...command.split(' '), 'list');
  expect(json.code).toBe(0);
  const data = JSON.parse(json.out).data as Array<{ id: string }>;
  expect(data.length).toBe(count);
  expect(new Set(data.map((d) => d.id)).size).toBe(count);
  const text = await cli(...command.split(' '), 'list');
  expect(text.code).toBe(0);
  expect(text.out).toContain(last);
  expect(text.out.trim().split('\n').length).toBe(count + 1);
});
