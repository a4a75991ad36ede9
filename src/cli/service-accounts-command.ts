import { type Command, Option } from 'commander';
import { callApi, listAll, projectIdOf, unexpectedAnswer, withBackend } from './admin-client.js';
import { cliIo } from './io.js';
import { jsonList, shown, table, time } from './output.js';

// `tollgate service-accounts …`: a project's service accounts, over the admin API's Project service accounts routes.
// An account is made with its first key, whose secret the answer holds this once (printed once, like `keys create`);
// no list shows it again. Deleting an account revokes its keys; the project's default account is not deleted.

const accounts = (pid: string) => `/v1/organization/projects/${pid}/service_accounts`;
const projectOpt = () => new Option('--project <project>', 'project id or name').default('Default project');

/** Registers `service-accounts create|list|delete`. */
export function registerServiceAccountsCommands(program: Command): void {
  const serviceAccounts = program.command('service-accounts').description("a project's service accounts (keys owned by no person)");
  serviceAccounts
    .command('create')
    .description('a service account and its first key, printed once')
    .argument('<name>')
    .addOption(projectOpt())
    .action(async (name: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const account = await callApi(b, 'POST', accounts(pid), { name });
        const key = account.api_key as { id: string; value: string } | null | undefined;
        if (typeof key?.value !== 'string') throw unexpectedAnswer('POST', accounts(pid), 'a service account without its key');
        cliIo().out(
          g.json
            ? `${JSON.stringify(account, null, 2)}\n`
            : [
                `Created service account ${account.id} (${shown(account.name)}) in ${pid}, with the key ${key.id}:`,
                '',
                `  ${key.value}`,
                '',
                'This secret is shown only now; it cannot be recovered.',
                '',
              ].join('\n'),
        );
      }),
    );
  serviceAccounts
    .command('list')
    .description("the project's service accounts (never their keys' secrets)")
    .addOption(projectOpt())
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, accounts(await projectIdOf(b, o.project)));
        const rows = all.map((a) => ({ ...a, default: a.is_default ? 'yes' : '-', created: time(a.created_at) }));
        cliIo().out(g.json ? jsonList(all) : table(rows, ['id', 'name', 'role', 'default', 'created']));
      }, { readOnly: true }),
    );
  serviceAccounts
    .command('delete')
    .description('delete a service account; its keys are revoked')
    .argument('<service_account_id>')
    .addOption(projectOpt())
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const res = await callApi(b, 'DELETE', `${accounts(pid)}/${encodeURIComponent(id)}`);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Deleted service account ${id} from ${pid}; its keys are revoked.\n`);
      }),
    );
}
