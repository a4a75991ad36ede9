import type { Command } from 'commander';
import { TollgateError } from '../core/errors.js';
import { isOwnerSignupOpen } from '../services/setup-token.js';
import { CreateOwnerBody, createOwner, OWNER_EXISTS } from '../services/sign-up.js';
import { parseInput } from '../services/validation.js';
import { CliError, type GlobalOpts } from './admin-client.js';
import { cliActor, localSetupTokenFile, openLocalRuntime } from './backend.js';
import { type CliIo, cliIo } from './io.js';

// `tollgate users create-owner`: the operator's way to claim a fresh instance from the machine itself, instead of the
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

/** Registers `users create-owner`. */
export function registerUsersCommands(program: Command): void {
  const users = program.command('users').description('organization users');
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
