import { type Command, Option } from 'commander';
import { ORG_ROLES } from '../core/roles.js';
import { CliError, callApi, listAll, projectIdOf, withBackend } from './admin-client.js';
import type { Backend } from './backend.js';
import { cliIo } from './io.js';
import { repeatableOption } from './option-values.js';
import { jsonList, shown, table, time } from './output.js';

// `tollgate invites …`: invitations to the organization, over the admin API's Invites routes. Tollgate sends no email:
// the link (`accept_url`) is printed once, at creation, for the operator to send. Locally no server address comes with
// the data dir, so the link is the dashboard's path (`/#/accept?token=…`), to open on the address the dashboard is
// reached at; over --server it is the server's whole link.

const INVITES = '/v1/organization/invites';

/** The projects of an invitation, each once: `--member-of` and `--owner-of`, resolved to ids. */
async function invitedProjects(b: Backend, o: { memberOf?: string[]; ownerOf?: string[] }): Promise<Array<{ id: string; role: string }>> {
  const given: Array<{ id: string; role: string; flag: string }> = [];
  for (const [flag, role, refs] of [
    ['--member-of', 'member', o.memberOf],
    ['--owner-of', 'owner', o.ownerOf],
  ] as const) {
    for (const ref of refs ?? []) {
      const id = await projectIdOf(b, ref);
      // The API refuses it too, in its words (`projects.1.id`); said here in the flags'.
      const earlier = given.find((p) => p.id === id);
      if (earlier) throw new CliError(`the project ${id} is named twice (${earlier.flag}, ${flag}): give each project once, with one role`);
      given.push({ id, role, flag });
    }
  }
  return given.map(({ id, role }) => ({ id, role }));
}

/** Registers `invites create|list|delete`. */
export function registerInvitesCommands(program: Command): void {
  const invites = program.command('invites').description('invitations to the organization (Tollgate sends no email: the link is printed once)');
  invites
    .command('create')
    .description('invite someone by email; prints the link to send them, once')
    .argument('<email>')
    .addOption(new Option('--role <role>', 'the organization role').choices(ORG_ROLES).makeOptionMandatory())
    .addOption(repeatableOption('--member-of <project>', 'a project they join as member (id or name; repeatable)'))
    .addOption(repeatableOption('--owner-of <project>', 'a project they join as owner (id or name; repeatable)'))
    .action(async (email: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const projects = await invitedProjects(b, o);
        const invite = await callApi(b, 'POST', INVITES, { email, role: o.role, ...(projects.length ? { projects } : {}) });
        const url = String(invite.accept_url);
        const at = url.indexOf('/#/');
        const link = b.server === null && at >= 0 ? url.slice(at) : url;
        const answer = { ...invite, accept_url: link };
        cliIo().out(
          g.json
            ? `${JSON.stringify(answer, null, 2)}\n`
            : [
                `Invited ${shown(invite.email)} as ${invite.role} (${invite.id}). Send them this link (shown only now; Tollgate sends no email); it works until ${time(invite.expires_at)}:`,
                '',
                `  ${link}`,
                '',
                ...(b.server === null ? ["Open it on the address the server's dashboard is reached at (https://tollgate.example.com/#/accept?token=…).", ''] : []),
              ].join('\n'),
        );
      }),
    );
  invites
    .command('list')
    .description('invitations: pending, accepted and expired')
    .action(async (_o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, INVITES);
        const rows = all.map((i) => ({ ...i, created: time(i.created_at), expires: time(i.expires_at) }));
        cliIo().out(g.json ? jsonList(all) : table(rows, ['id', 'email', 'role', 'status', 'created', 'expires']));
      }, { readOnly: true }),
    );
  invites
    .command('delete')
    .description('withdraw an invitation: its link stops working')
    .argument('<invite_id>')
    .action(async (id: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const path = `${INVITES}/${encodeURIComponent(id)}`;
        const invite = await callApi(b, 'GET', path);
        const res = await callApi(b, 'DELETE', path);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Deleted invitation ${id} (${shown(invite.email)}); its link no longer works.\n`);
      }),
    );
}
