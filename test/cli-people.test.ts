import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { openBackend } from '../src/cli/backend.js';
import { describeEachDatabase } from './harness/backends.js';
import { localDatabaseEnv } from './harness/local-cli.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { joinAs, type SessionClient, signUpOwner } from './harness/session-client.js';

// A feature gap: the dashboard and the admin API manage the organization's users and invitations, a project's members
// and its service accounts, and change a key's expiry, but the CLI had no command for any of them (`tollgate users
// list` was an unknown command). Each is now a CLI command over the same admin calls, locally and over --server.

const DAY = 86_400;
// The CLI's clock, fixed for the run (the local runtime takes it too): expiries are checked against it exactly.
const NOW_MS = Math.floor(Date.now() / 1000) * 1000;
const now = NOW_MS / 1000;

type Run = { code: number; out: string; err: string; json(): ReturnType<typeof JSON.parse> };
type Cli = (...args: string[]) => Promise<Run>;

function cliWith(env: () => Record<string, string | undefined>, prefix: () => string[] = () => [], stdin = ''): Cli {
  return async (...args) => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...prefix(), ...args], {
      env: env(),
      out: (t) => (out += t),
      err: (t) => (err += t),
      clock: () => NOW_MS,
      readStdin: async () => stdin,
    });
    return { code, out, err, json: () => JSON.parse(out) };
  };
}

/** Expects the command to succeed; its --json answer. */
async function ok(cli: Cli, ...args: string[]) {
  const r = await cli('--json', ...args);
  expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
  return r.json();
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

/** What every mode shares: project members, service accounts and a key's expiry, over `cli` on a project named `Team`. */
async function projectPeopleAndAccounts(cli: Cli, memberEmail: string) {
  const project = await ok(cli, 'projects', 'create', 'Team');
  // Project members: by email or id, each role; an unknown role refused before any call.
  const added = await ok(cli, 'projects', 'users', 'add', memberEmail, '--project', 'Team', '--role', 'member');
  expect(added).toMatchObject({ object: 'organization.project.user', email: memberEmail, role: 'member' });
  const listed = await ok(cli, 'projects', 'users', 'list', '--project', project.id);
  expect(listed).toMatchObject({ object: 'list' });
  expect(listed.data.map((u: { id: string; role: string }) => [u.id, u.role])).toEqual([[added.id, 'member']]);
  const table = await cli('projects', 'users', 'list', '--project', 'Team');
  expect(table.out).toMatch(/ID\s+EMAIL\s+NAME\s+ROLE\s+ADDED/);
  expect(table.out).toContain(memberEmail);
  expect((await ok(cli, 'projects', 'users', 'role', added.id, 'reader', '--project', 'Team')).role).toBe('reader');
  const human = await cli('projects', 'users', 'role', memberEmail, 'owner', '--project', 'Team');
  expect(human.code, human.err).toBe(0);
  expect(human.out).toBe(`${memberEmail} (${added.id}) is now owner of ${project.id}.\n`);
  const badRole = await cli('projects', 'users', 'role', memberEmail, 'admin', '--project', 'Team');
  expect(badRole.code).toBe(1);
  expect(badRole.err).toMatch(/'admin' is invalid for argument 'role'\. Allowed choices are owner, member, reader/);
  const badAdd = await cli('projects', 'users', 'add', memberEmail, '--project', 'Team', '--role', 'admin');
  expect(badAdd.code).toBe(1);
  expect(badAdd.err).toMatch(/Allowed choices are owner, member, reader/);
  const noRole = await cli('projects', 'users', 'add', memberEmail, '--project', 'Team');
  expect(noRole.code).toBe(1);
  expect(noRole.err).toMatch(/required option '--role <role>' not specified/);
  const emptyRole = await cli('projects', 'users', 'add', memberEmail, '--project', 'Team', '--role', '');
  expect(emptyRole.code).toBe(1);
  expect(emptyRole.err).toContain('--role was given an empty value');
  // The API's refusals, in its words: a second add of a member, an address nobody in the organization has.
  const again = await cli('projects', 'users', 'add', memberEmail, '--project', 'Team', '--role', 'member');
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/^error: .+ \(\w+\)\n$/);
  const stranger = await cli('projects', 'users', 'role', 'nobody@example.com', 'member', '--project', 'Team');
  expect(stranger.code).toBe(1);
  expect(stranger.err).toContain("No user with the email 'nobody@example.com'");
  const removed = await ok(cli, 'projects', 'users', 'remove', memberEmail, '--project', 'Team');
  expect(removed).toMatchObject({ id: added.id, deleted: true });
  expect((await ok(cli, 'projects', 'users', 'list', '--project', 'Team')).data).toEqual([]);

  // Service accounts: the key printed once, at creation, and never by list (nor by keys list).
  const created = await cli('service-accounts', 'create', 'ci', '--project', 'Team');
  expect(created.code, created.err).toBe(0);
  const value = /sk-tg-[0-9A-Za-z]{20,}/.exec(created.out)?.[0] ?? '';
  expect(value).not.toBe('');
  expect(occurrences(created.out, value)).toBe(1);
  expect(created.out).toContain('shown only now');
  expect(created.err).toBe('');
  const json = await ok(cli, 'service-accounts', 'create', 'deploys', '--project', project.id);
  expect(json).toMatchObject({ object: 'organization.project.service_account', name: 'deploys', api_key: { value: expect.stringMatching(/^sk-tg-/) } });
  const accounts = await cli('service-accounts', 'list', '--project', 'Team');
  expect(accounts.out).toMatch(/ID\s+NAME\s+ROLE\s+DEFAULT\s+CREATED/);
  expect(accounts.out).toContain('deploys');
  const accountsJson = await ok(cli, 'service-accounts', 'list', '--project', 'Team');
  expect(accountsJson.object).toBe('list');
  expect(accountsJson.data.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['ci', 'deploys']));
  const everything = [accounts.out, JSON.stringify(accountsJson), (await cli('keys', 'list', '--project', 'Team')).out, JSON.stringify(await ok(cli, 'keys', 'list', '--project', 'Team'))].join('\n');
  for (const secret of [value, json.api_key.value]) expect(everything).not.toContain(secret);
  const ciId = accountsJson.data.find((a: { name: string }) => a.name === 'ci').id;
  expect(await ok(cli, 'service-accounts', 'delete', ciId, '--project', 'Team')).toMatchObject({ id: ciId, deleted: true });
  expect((await ok(cli, 'service-accounts', 'list', '--project', 'Team')).data.map((a: { id: string }) => a.id)).not.toContain(ciId);
  // The project's default account is not deleted: the API's message.
  const fallback = accountsJson.data.find((a: { is_default: boolean }) => a.is_default);
  const refused = await cli('service-accounts', 'delete', fallback.id, '--project', 'Team');
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/^error: .*default.* \(\w+\)\n$/);

  // A key's expiry: set from now, as --expires reads it, and cleared with `none`.
  const key = await ok(cli, 'keys', 'create', '--project', 'Team', '--name', 'expiring');
  expect((await ok(cli, 'keys', 'expiry', key.id, '30d', '--project', 'Team')).expires_at).toBe(now + 30 * DAY);
  const setHuman = await cli('keys', 'expiry', key.id, '2d', '--project', 'Team');
  expect(setHuman.out).toBe(`${key.id} now expires at ${new Date((now + 2 * DAY) * 1000).toISOString().replace('.000Z', 'Z')}.\n`);
  expect((await ok(cli, 'keys', 'expiry', key.id, 'none', '--project', 'Team')).expires_at).toBeNull();
  expect((await cli('keys', 'expiry', key.id, 'none', '--project', 'Team')).out).toBe(`${key.id} no longer expires.\n`);
  const past = await cli('keys', 'expiry', key.id, String(now - 60), '--project', 'Team');
  expect(past.code).toBe(1);
  expect(past.err).toContain("Invalid value for 'expires_at': must be in the future");
  for (const bad of ['tomorrow', '']) {
    const r = await cli('keys', 'expiry', key.id, bad, '--project', 'Team');
    expect(r.code, bad).toBe(1);
    expect(r.err, bad).toContain(`<when> expects unix seconds, an ISO 8601 date or time`);
  }
}

describeEachDatabase('CLI people commands (local data dir)', (backend) => {
  let env: Record<string, string | undefined>;
  let cleanup: () => Promise<void>;
  let cli: Cli;
  beforeAll(async () => {
    ({ env, cleanup } = await localDatabaseEnv(backend));
    cli = cliWith(() => env, () => [], 'a long owner password\n');
  });
  afterAll(async () => cleanup?.());

  /** A user added through the admin API in-process (no CLI command adds one without an invitation). */
  async function addUser(email: string, role: 'owner' | 'reader') {
    const b = await openBackend({}, env);
    try {
      const res = await b.call('POST', '/v1/organization/users', { email, role });
      expect(res.status).toBe(200);
      return res.body as { id: string };
    } finally {
      await b.close();
    }
  }

  it("lists the organization's users, changes their roles and removes them; the last owner is kept, with the API's message", async () => {
    const owner = await ok(cli, 'users', 'create-owner', '--email', 'owner@example.com', '--password-stdin');
    const listed = await ok(cli, 'users', 'list');
    expect(listed).toMatchObject({ object: 'list' });
    expect(listed.data.map((u: { id: string; role: string }) => [u.id, u.role])).toEqual([[owner.id, 'owner']]);
    // The last owner who can sign in, by email or id: the API's refusal, shown as it says it.
    for (const args of [['role', 'owner@example.com', 'reader'], ['remove', owner.id]]) {
      const r = await cli('users', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toBe(`error: User '${owner.id}' is the organization's last owner: make another member an owner first. (conflict)\n`);
    }
    const unknownRole = await cli('users', 'role', 'owner@example.com', 'admin');
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.err).toMatch(/'admin' is invalid for argument 'role'\. Allowed choices are owner, reader/);
    // Another user: made owner (any case of the address finds them), then reader, then removed.
    const other = await addUser('other@example.com', 'reader');
    expect((await ok(cli, 'users', 'role', 'Other@Example.com', 'owner')).role).toBe('owner');
    const demoted = await cli('users', 'role', other.id, 'reader');
    expect(demoted.out).toBe(`other@example.com (${other.id}) is now reader of the organization.\n`);
    const table = await cli('users', 'list');
    expect(table.out).toMatch(/ID\s+EMAIL\s+NAME\s+ROLE\s+ADDED/);
    expect(table.out).toContain('other@example.com');
    const removed = await cli('users', 'remove', 'other@example.com');
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toContain(`Removed other@example.com (${other.id}) from the organization`);
    expect((await ok(cli, 'users', 'list')).data.map((u: { id: string }) => u.id)).toEqual([owner.id]);
    const gone = await cli('users', 'remove', 'other@example.com');
    expect(gone.code).toBe(1);
    expect(gone.err).toContain("No user with the email 'other@example.com'");
  });

  it('creates, lists and deletes invitations, the link shown once', async () => {
    const project = await ok(cli, 'projects', 'create', 'Invited');
    const invite = await ok(cli, 'invites', 'create', 'new@example.com', '--role', 'reader', '--member-of', 'Invited', '--owner-of', 'Default project');
    expect(invite).toMatchObject({ object: 'organization.invite', email: 'new@example.com', role: 'reader', status: 'pending' });
    expect(invite.projects).toEqual([
      { id: project.id, role: 'member' },
      { id: expect.stringMatching(/^proj_/), role: 'owner' },
    ]);
    // Locally there is no server address to put in front of the link: the dashboard's path, to open on its address.
    expect(invite.accept_url).toMatch(/^\/#\/accept\?token=[\w-]{20,}$/);
    const human = await cli('invites', 'create', 'second@example.com', '--role', 'owner');
    expect(human.code, human.err).toBe(0);
    const link = /\/#\/accept\?token=[\w-]+/.exec(human.out)?.[0] ?? '';
    expect(occurrences(human.out, link)).toBe(1);
    expect(human.out).toContain('shown only now');
    const list = await ok(cli, 'invites', 'list');
    expect(list.object).toBe('list');
    expect(list.data.map((i: { email: string }) => i.email)).toEqual(['new@example.com', 'second@example.com']);
    const table = await cli('invites', 'list');
    expect(table.out).toMatch(/ID\s+EMAIL\s+ROLE\s+STATUS\s+CREATED\s+EXPIRES/);
    for (const shown of [JSON.stringify(list), table.out]) {
      expect(shown).not.toContain(invite.accept_url.split('token=')[1]);
      expect(shown).not.toContain(link.split('token=')[1]);
    }
    expect(await ok(cli, 'invites', 'delete', invite.id)).toMatchObject({ id: invite.id, deleted: true });
    expect((await ok(cli, 'invites', 'list')).data.map((i: { id: string }) => i.id)).not.toContain(invite.id);
    // Refusals: an unknown role, a project named twice, one that does not exist, an invitation already deleted.
    const role = await cli('invites', 'create', 'x@example.com', '--role', 'member');
    expect(role.code).toBe(1);
    expect(role.err).toMatch(/Allowed choices are owner, reader/);
    const twice = await cli('invites', 'create', 'x@example.com', '--role', 'reader', '--member-of', 'Invited', '--owner-of', project.id);
    expect(twice.code).toBe(1);
    expect(twice.err).toContain(`error: the project ${project.id} is named twice (--member-of, --owner-of): give each project once, with one role\n`);
    const missing = await cli('invites', 'create', 'x@example.com', '--role', 'reader', '--member-of', 'Nowhere');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("No project named 'Nowhere'.");
    const deleted = await cli('invites', 'delete', invite.id);
    expect(deleted.code).toBe(1);
    expect(deleted.err).toContain(`No invite found with id '${invite.id}'. (not_found)`);
  });

  it('manages project members, service accounts and key expiry', async () => {
    await addUser('member@example.com', 'reader');
    await projectPeopleAndAccounts(cli, 'member@example.com');
  });
});

describeEachDatabase('CLI people commands (remote --server)', (backend) => {
  let t: TestServer;
  let cli: Cli;
  let owner: SessionClient;
  beforeAll(async () => {
    t = await startTestServer(backend);
    cli = cliWith(() => ({ LOG_LEVEL: 'silent' }), () => ['--server', t.url, '--admin-key', t.adminKey]);
    owner = await signUpOwner(t);
  });
  afterAll(async () => t?.close());

  it("manages users and invitations over the admin API, showing the API's refusal of the last owner", async () => {
    const ownerId = (await owner.call('GET', '/auth/me')).body.user.id as string;
    await joinAs(t, owner, 'reader@example.com', 'reader');
    const users = await ok(cli, 'users', 'list');
    expect(users.data.map((u: { email: string; role: string }) => [u.email, u.role])).toEqual([
      ['owner@example.com', 'owner'],
      ['reader@example.com', 'reader'],
    ]);
    const last = await cli('users', 'role', 'owner@example.com', 'reader');
    expect(last.code).toBe(1);
    expect(last.err).toBe(`error: User '${ownerId}' is the organization's last owner: make another member an owner first. (conflict)\n`);
    expect((await ok(cli, 'users', 'role', 'reader@example.com', 'owner')).role).toBe('owner');
    expect((await ok(cli, 'users', 'role', 'reader@example.com', 'reader')).role).toBe('reader');
    expect(await ok(cli, 'users', 'remove', 'reader@example.com')).toMatchObject({ deleted: true });

    const invite = await ok(cli, 'invites', 'create', 'invited@example.com', '--role', 'reader', '--member-of', 'Default project');
    expect(invite.accept_url.startsWith(`${t.url}/#/accept?token=`)).toBe(true);
    expect((await ok(cli, 'invites', 'list')).data.map((i: { id: string }) => i.id)).toContain(invite.id);
    const deleted = await cli('invites', 'delete', invite.id);
    expect(deleted.out).toBe(`Deleted invitation ${invite.id} (invited@example.com); its link no longer works.\n`);
    expect((await ok(cli, 'invites', 'list')).data.map((i: { id: string }) => i.id)).not.toContain(invite.id);
  });

  it('manages project members, service accounts and key expiry', async () => {
    await joinAs(t, owner, 'member@example.com', 'reader');
    await projectPeopleAndAccounts(cli, 'member@example.com');
  });
});

describe('CLI people commands: help', () => {
  it('lists every new command in --help', async () => {
    const cli = cliWith(() => ({ LOG_LEVEL: 'silent' }));
    for (const [args, commands] of [
      [['users', '--help'], ['list', 'role', 'remove', 'create-owner']],
      [['invites', '--help'], ['create', 'list', 'delete']],
      [['projects', 'users', '--help'], ['list', 'add', 'role', 'remove']],
      [['service-accounts', '--help'], ['create', 'list', 'delete']],
      [['keys', '--help'], ['expiry']],
    ] as Array<[string[], string[]]>) {
      const help = await cli(...args);
      expect(help.code, args.join(' ')).toBe(0);
      for (const c of commands) expect(help.out, `${args.join(' ')}: ${c}`).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
  });
});
