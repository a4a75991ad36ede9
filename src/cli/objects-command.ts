import type { Command } from 'commander';
import { callApi, listAll, projectIdOf, withBackend } from './admin-client.js';
import { cliIo } from './io.js';
import { jsonList, table, time } from './output.js';

// `tollgate objects …`: the upstream objects each project owns, and the operator's assignment of objects made
// outside Tollgate (or before it), which no project key sees until assigned.

/** Registers `objects list|assign|unassign`. */
export function registerObjectsCommand(program: Command): void {
  const objects = program.command('objects').description('upstream objects (files, batches, responses, …) and the project that owns each');
  const base = (pid: string) => `/v1/organization/projects/${pid}/upstream_objects`;
  objects
    .command('list')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--type <type>', 'only objects of this type (file, batch, response, …)')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const rows = await listAll(b, base(pid), o.type ? `type=${encodeURIComponent(o.type)}` : '');
        const shown = rows.map((r) => ({ ...r, recorded: time(r.recorded_at), deleted: time(r.deleted_at) }));
        cliIo().out(g.json ? jsonList(rows) : table(shown, ['id', 'type', 'source', 'api_key_id', 'recorded', 'deleted']));
      }, { readOnly: true }),
    );
  objects
    .command('assign')
    .argument('<object_id>', 'the upstream id (file-…, batch_…, resp_…, vs_…, …)')
    .requiredOption('--project <project>', 'project id or name')
    .option('--type <type>', 'its type, when the id does not tell it')
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const res = await callApi(b, 'POST', base(pid), { id, ...(o.type ? { type: o.type } : {}) });
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Assigned ${res.type} ${id} to ${pid}; only its keys can reach it now.\n`);
      }),
    );
  objects
    .command('unassign')
    .argument('<object_id>')
    .requiredOption('--project <project>', 'project id or name')
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const res = await callApi(b, 'DELETE', `${base(pid)}/${encodeURIComponent(id)}`);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Unassigned ${id} from ${pid}; no project key can reach it now.\n`);
      }),
    );
}
