import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';
import { SessionClient } from './harness/session-client.js';

// A refused sign-up or sign-in is recorded with the email tried (audit entry, warn log line), never the password. What
// was typed into the email field is not always an email: a password typed there by mistake was recorded as the email.

let t: TestServer;
const logs: string[] = [];
beforeAll(async () => {
  t = await startTestServer({ name: 'sqlite' }, { logger: pino({ level: 'trace' }, { write: (l: string) => logs.push(l) }) });
});
afterAll(async () => {
  await t?.close();
});

const recorded = async () => `${logs.join('\n')}${(await t.api('GET', '/v1/organization/audit_logs?limit=100')).text}`;

it('a password typed into the email field of sign-up or sign-in is neither logged nor audited; an email is', async () => {
  const signUpPassword = 'my real passphrase 123';
  const signInPassword = 'another passphrase 456';
  const c = new SessionClient(t.url);
  expect((await c.call('POST', '/auth/signup', { email: signUpPassword, password: signUpPassword, setup_token: t.setupToken })).status).toBe(400);
  expect((await c.call('POST', '/auth/signup', { email: 'Someone@Example.com', password: 'x', setup_token: 'wrong' })).status).toBeGreaterThanOrEqual(400);
  expect((await c.call('POST', '/auth/login', { email: signInPassword, password: signInPassword })).status).toBe(401);
  expect((await c.call('POST', '/auth/login', { email: 'nobody@example.com', password: 'wrong password here' })).status).toBe(401);
  const text = await recorded();
  expect(text).not.toContain(signUpPassword);
  expect(text).not.toContain(signInPassword);
  const entries = (await t.api('GET', '/v1/organization/audit_logs?limit=100')).body.data as Array<{ type: string; [k: string]: unknown }>;
  const emails = (type: string) => entries.filter((e) => e.type === type).map((e) => (e[type] as { email: string | null }).email);
  expect(emails('signup.failed').sort()).toEqual([null, 'someone@example.com'].sort());
  expect(emails('login.failed').sort()).toEqual([null, 'nobody@example.com'].sort());
});
