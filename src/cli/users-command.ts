import { Argument, type Command } from 'commander';
import { TollgateError } from '../core/errors.js';
import { ORG_ROLES } from '../core/roles.js';
import { isOwnerSignupOpen } from '../services/setup-token.js';
import { CreateOwnerBody, createOwner, OWNER_EXISTS } from '../services/sign-up.js';
import { parseInput } from '../services/validation.js';
import { CliError, callApi, type GlobalOpts, listAll, userOf, withBackend } from './admin-client.js';
import { cliActor, localSetupTokenFile, openLocalRuntime } from './backend.js';
import { type CliIo, cliIo } from './io.js';
import { jsonList, shown, table, time } from './output.js';

// `tollgate users list|role|remove`: the organization's users, over the admin API's Users routes, a user named by id or
// email. `tollgate users create-owner`: the operator's way to claim a fresh instance from the machine itself, instead of the
// setup token. Local only (the data dir and its DATABASE_URL), never over --server: reaching the database is the proof.
// The password is never an argument (it would land in shell history and in `ps`): it is asked for on the terminal,
// twice and without echo, or read from standard input with --password-stdin (as `docker login` does).

async function readNewPassword(io: CliIo, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    if (!io.readStdin) throw new CliError('no standard input to read the password from');
    const password = (await io.readStdin()).split(/\r?\n/)[0];
    if (!password) throw new CliError('--password-stdin: standard input holds no password');
    return password;
  }
  if (!io.promptHidden) throw new CliError('no terminal to ask for the password on: pipe it in with --password-stdin');
  const password = await io.promptHidden('Password for the owner account: ', '--password-stdin');
  if ((await io.promptHidden('Repeat the password: ', '--password-stdin')) !== password) throw new CliError('The passwords do not match.');
  return password;
}

const USERS = '/v1/organization/users';

/** Registers `users list|role|remove|create-owner`. */
export function registerUsersCommands(program: Command): void {
  const users = program.command('users').description('organization users');
  users
    .command('list')
    .description("the organization's users and their roles")
    .action(async (_o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, USERS);
        const rows = all.map((u) => ({ ...u, added: time(u.added_at) }));
        cliIo().out(g.json ? jsonList(all) : table(rows, ['id', 'email', 'name', 'role', 'added']));
      }, { readOnly: true }),
    );
  users
    .command('role')
    .description("change a user's organization role (the last owner who can sign in is kept: the API refuses)")
    .argument('<user>', 'user id (user-…) or email')
    .addArgument(new Argument('<role>', 'the organization role').choices(ORG_ROLES))
    .action(async (ref: string, role: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const { id } = await userOf(b, ref);
        const user = await callApi(b, 'POST', `${USERS}/${encodeURIComponent(id)}`, { role });
        cliIo().out(g.json ? `${JSON.stringify(user, null, 2)}\n` : `${shown(user.email)} (${id}) is now ${user.role} of the organization.\n`);
      }),
    );
  users
    .command('remove')
    .description('remove a user from the organization: their sessions end, their keys are revoked')
    .argument('<user>', 'user id (user-…) or email')
    .action(async (ref: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const user = await userOf(b, ref);
        const res = await callApi(b, 'DELETE', `${USERS}/${encodeURIComponent(user.id)}`);
        cliIo().out(
          g.json
            ? `${JSON.stringify(res, null, 2)}\n`
            : `Removed ${shown(user.email)} (${user.id}) from the organization; their sessions ended and their keys are revoked.\n`,
        );
      }),
    );
  users
    .command('create-owner')
    .description('create the organization owner on this machine (the local data dir; voids the setup token)')
    .requiredOption('--email <email>', 'the owner\'s email (their sign-in name)')
    .option('--name <name>', 'display name (default: the email\'s name part)')
    .option('--password-stdin', 'read the password from standard input (its first line) instead of asking for it')
    .action(async (o: { email: string; name?: string; passwordStdin?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOpts;
      const io = cliIo();
      if (g.server !== undefined || io.env.TOLLGATE_URL || g.adminKey !== undefined) {
        throw new CliError(
          g.server === undefined && !io.env.TOLLGATE_URL
            ? '--admin-key is for a server: give --server <url> (or TOLLGATE_URL), or leave --admin-key out to act on the local data dir (users create-owner acts on it only)'
            : 'users create-owner acts on the local data dir (and its DATABASE_URL) only, not over --server or TOLLGATE_URL: over the network, sign up in the dashboard with the setup token.',
        );
      }
      const runtime = await openLocalRuntime(io.env);
      try {
        // Refuse before asking for a password that could not be used.
        if (!(await isOwnerSignupOpen(runtime.deps))) throw new TollgateError('conflict', OWNER_EXISTS);
        const password = await readNewPassword(io, !!o.passwordStdin);
        const file = localSetupTokenFile(runtime.config.dataDir);
        const body = parseInput(CreateOwnerBody, { email: o.email, name: o.name, password });
        const owner = await createOwner(runtime.deps, runtime.org.id, file, body, cliActor());
        const result = { object: 'organization.user', id: owner.id, email: owner.email, role: 'owner' };
        io.out(
          g.json
            ? `${JSON.stringify(result, null, 2)}\n`
            : `Created the owner account ${owner.email} (${owner.id}). Sign in with it in the dashboard; the setup token no longer works.\n`,
        );
      } catch (err) {
        if (err instanceof TollgateError) throw new CliError(`${err.message} (${err.code})`);
        throw err;
      } finally {
        await runtime.close();
      }
    });
}
