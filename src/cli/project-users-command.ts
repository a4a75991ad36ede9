import { Argument, type Command, Option } from 'commander';
import { PROJECT_ROLES } from '../core/roles.js';
import { callApi, listAll, projectIdOf, userOf, withBackend } from './admin-client.js';
import { cliIo } from './io.js';
import { jsonList, shown, table, time } from './output.js';

// `tollgate projects users …`: a project's members and their project roles, over the admin API's Project users routes.
// A member is a user of the organization, named by id or email; the project by --project, as for keys.

const members = (pid: string) => `/v1/organization/projects/${pid}/users`;
const projectOpt = () => new Option('--project <project>', 'project id or name').default('Default project');
const roleHelp = 'the project role';

/** Registers `projects users list|add|role|remove` under `projects`. */
export function registerProjectUsersCommands(projects: Command): void {
  const users = projects.command('users').description("a project's members and their project roles");
  users
    .command('list')
    .description("the project's members")
    .addOption(projectOpt())
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, members(await projectIdOf(b, o.project)));
        const rows = all.map((u) => ({ ...u, added: time(u.added_at) }));
        cliIo().out(g.json ? jsonList(all) : table(rows, ['id', 'email', 'name', 'role', 'added']));
      }, { readOnly: true }),
    );
  users
    .command('add')
    .description('add a user of the organization to the project')
    .argument('<user>', 'user id (user-…) or email')
    .addOption(projectOpt())
    .addOption(new Option('--role <role>', roleHelp).choices(PROJECT_ROLES).makeOptionMandatory())
    .action(async (ref: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        // The API takes the user by id or by email itself, and says when no user has that address.
        const who = ref.startsWith('user-') ? { user_id: ref } : { email: ref };
        const member = await callApi(b, 'POST', members(pid), { ...who, role: o.role });
        cliIo().out(g.json ? `${JSON.stringify(member, null, 2)}\n` : `Added ${shown(member.email)} (${member.id}) to ${pid} as ${member.role}.\n`);
      }),
    );
  users
    .command('role')
    .description("change a member's project role")
    .argument('<user>', 'user id (user-…) or email')
    .addArgument(new Argument('<role>', roleHelp).choices(PROJECT_ROLES))
    .addOption(projectOpt())
    .action(async (ref: string, role: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const { id } = await userOf(b, ref);
        const member = await callApi(b, 'POST', `${members(pid)}/${encodeURIComponent(id)}`, { role });
        cliIo().out(g.json ? `${JSON.stringify(member, null, 2)}\n` : `${shown(member.email)} (${id}) is now ${member.role} of ${pid}.\n`);
      }),
    );
  users
    .command('remove')
    .description('take a member out of the project (their keys in it stay, with owner_project_access inactive)')
    .argument('<user>', 'user id (user-…) or email')
    .addOption(projectOpt())
    .action(async (ref: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const user = await userOf(b, ref);
        const res = await callApi(b, 'DELETE', `${members(pid)}/${encodeURIComponent(user.id)}`);
        cliIo().out(
          g.json
            ? `${JSON.stringify(res, null, 2)}\n`
            : `Removed ${shown(user.email)} (${user.id}) from ${pid}; their keys in it stay, with owner_project_access inactive.\n`,
        );
      }),
    );
}
