import { Command, InvalidArgumentError, Option } from 'commander';
import { AUDIT_EVENT_TYPES } from '../core/audit-events.js';
import { CliError, callApi, type GlobalOpts, listAll, listItems, projectIdOf, withBackend } from './admin-client.js';
import { type CliIo, cliClock, cliIo, withCliIo } from './io.js';
import { listOption, refuseEmptyOrRepeatedValues, wholeSeconds } from './option-values.js';
import { shown, table, time } from './output.js';
import { registerInvitesCommands } from './invites-command.js';
import { registerLimitsCommands } from './limits-command.js';
import { registerObjectsCommand } from './objects-command.js';
import { registerProjectUsersCommands } from './project-users-command.js';
import { registerProvidersCommands } from './providers-command.js';
import { registerScanCommand } from './scan-command.js';
import { registerServiceAccountsCommands } from './service-accounts-command.js';
import { registerUsageCommand } from './usage-command.js';
import { registerUsersCommands } from './users-command.js';
import { parseWhen } from './when.js';

// `tollgate` — the CLI. Every command takes --json for scripts; without it, a readable table.

export type { CliIo };

function print(g: GlobalOpts, value: unknown, human: () => string): void {
  cliIo().out(g.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

function keyRows(items: Array<Record<string, unknown>>) {
  return items.map((k) => ({
    ...k,
    created: time(k.created_at),
    last_used: time(k.last_used_at),
    expires: time(k.expires_at),
    perms: typeof k.permissions === 'string' ? k.permissions : 'restricted',
  }));
}

const KEY_COLUMNS = ['id', 'name', 'redacted_value', 'status', 'perms', 'created', 'last_used', 'expires'];


/**
 * The key's scope from --permissions or --restricted (one of them; an empty value never gets here: option-values.ts).
 * A malformed value is refused, never read in part: `models=read=write` is not {models: "read"}.
 */
function parsePermissions(value: string | undefined, restricted: string | undefined): unknown {
  if (value !== undefined && restricted !== undefined) throw new CliError('give --permissions or --restricted, not both');
  if (restricted !== undefined) {
    const map: Record<string, string> = {};
    for (const pair of restricted.split(',')) {
      const parts = pair.split('=').map((s) => s.trim());
      const [res, level] = parts;
      if (parts.length !== 2 || !res || !level) throw new CliError(`--restricted expects resource=level pairs, e.g. models=read,chat.completions=write; got '${pair}'`);
      if (Object.hasOwn(map, res)) throw new CliError(`--restricted names '${res}' twice`);
      map[res] = level;
    }
    return { restricted: map };
  }
  if (value === undefined) return undefined;
  if (!value.trim().startsWith('{')) return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new CliError(`--permissions expects all, read_only or a JSON object such as {"restricted":{"models":"read"}}; got '${value}'`);
  }
}

/** `--expires`: unix seconds, an ISO 8601 date or time, or a span from now (when.ts). */
function parseExpiry(v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseWhen(v, Math.floor(cliClock()() / 1000), '--expires', 'ahead');
}

/** `audit --limit`: the admin API's page size, 1 to 100. */
function auditLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100) throw new InvalidArgumentError(`expected a whole number from 1 to 100, got '${value}'`);
  return n;
}

/** What the process running the CLI is told of by the commands (run.ts). */
export interface CliHooks {
  /** `serve` started the server, which keeps the process: it must not exit when the command returns. */
  onServe?: () => void;
}

/** Builds the command tree (exported for tests). */
export function buildCli(hooks: CliHooks = {}): Command {
  const program = new Command('tollgate')
    .description('Tollgate: self-hosted API keys and an OpenAI-compatible gateway')
    .option('--json', 'print JSON for scripts')
    .option('--server <url>', 'talk to a running server instead of the local data dir (env TOLLGATE_URL)')
    .option('--admin-key <key>', 'admin key for --server (env TOLLGATE_ADMIN_KEY)')
    .showHelpAfterError();

  program
    .command('serve')
    .description('start the server (same as npm start)')
    .action(async (_o, cmd: Command) => {
      // Never silently ignored: `--server URL serve` would start a server here, not reach the one named.
      const g = cmd.optsWithGlobals();
      for (const [flag, given] of [['--server', g.server], ['--admin-key', g.adminKey]] as const) {
        if (given !== undefined) throw new CliError(`serve starts a server on this machine; ${flag} is for the commands that talk to a running one`);
      }
      await import('../main.js');
      hooks.onServe?.();
    });

  const admin = program.command('admin-keys').description('admin API keys (sk-tg-admin-…)');
  admin
    .command('create')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--expires <when>', 'expiry: unix seconds, ISO 8601 date or time (UTC without a zone), or 30d/12h/90m from now')
    .addOption(listOption('--allowed-ips <list>', 'comma-separated IPs/CIDRs (repeatable)'))
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const key = await callApi(b, 'POST', '/v1/organization/admin_api_keys', {
          name: o.name,
          expires_at: parseExpiry(o.expires),
          allowed_ips: o.allowedIps,
        });
        print(g, key, () =>
          [
            `Created admin key ${key.id} (${shown(key.name)}).`,
            '',
            `  ${key.value}`,
            '',
            'This secret is shown only now. Store it safely; it cannot be recovered.',
            '',
          ].join('\n'),
        );
      }),
    );
  admin
    .command('list')
    .option('--all', 'include revoked keys')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, '/v1/organization/admin_api_keys', o.all ? 'include_revoked=true' : '');
        print(g, { object: 'list', data: all }, () => table(keyRows(all), ['id', 'name', 'redacted_value', 'status', 'created', 'last_used']));
      }, { readOnly: true }),
    );
  admin
    .command('revoke')
    .argument('<key_id>')
    .action(async (id: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const res = await callApi(b, 'DELETE', `/v1/organization/admin_api_keys/${encodeURIComponent(id)}`);
        print(g, res, () => `Revoked admin key ${id}.\n`);
      }),
    );

  const projects = program.command('projects').description('projects');
  projects
    .command('list')
    .option('--all', 'include archived projects')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const all = await listAll(b, '/v1/organization/projects', o.all ? 'include_archived=true' : '');
        const rows = all.map((p) => ({ ...p, created: time(p.created_at) }));
        print(g, { object: 'list', data: all }, () => table(rows, ['id', 'name', 'status', 'created']));
      }, { readOnly: true }),
    );
  projects
    .command('create')
    .argument('<name>')
    .addOption(listOption('--allowed-ips <list>', 'comma-separated IPs/CIDRs for every key of the project (repeatable)'))
    .action(async (name: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const p = await callApi(b, 'POST', '/v1/organization/projects', { name, allowed_ips: o.allowedIps });
        print(g, p, () => `Created project ${p.id} (${shown(p.name)}).\n`);
      }),
    );
  projects
    .command('archive')
    .argument('<project>', 'project id or name')
    .action(async (ref: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await projectIdOf(b, ref);
        const p = await callApi(b, 'POST', `/v1/organization/projects/${id}/archive`);
        print(g, p, () => `Archived project ${p.id} (${shown(p.name)}); its keys no longer work.\n`);
      }),
    );
  registerProjectUsersCommands(projects);

  const keys = program.command('keys').description('project API keys (sk-tg-…)');
  const projectOpt = () => new Option('--project <project>', 'project id or name').default('Default project');
  keys
    .command('create')
    .addOption(projectOpt())
    .option('--name <name>', 'key name')
    .option('--permissions <p>', 'all | read_only | JSON {"restricted":{…}}')
    .option('--restricted <pairs>', 'restricted scopes, e.g. models=read,chat.completions=write')
    .option('--expires <when>', 'expiry: unix seconds, ISO 8601 date or time (UTC without a zone), or 30d/12h/90m from now')
    .addOption(listOption('--allowed-ips <list>', 'comma-separated IPs/CIDRs (repeatable)'))
    .addOption(listOption('--allowed-models <list>', 'comma-separated model names (repeatable)'))
    .option('--owner <id>', 'user-… or svc_acct_… (default: the project service account)')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const key = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys`, {
          name: o.name,
          permissions: parsePermissions(o.permissions, o.restricted),
          expires_at: parseExpiry(o.expires),
          allowed_ips: o.allowedIps,
          allowed_models: o.allowedModels,
          owner: o.owner,
        });
        print(g, key, () =>
          [`Created key ${key.id} (${shown(key.name)}) in ${pid}.`, '', `  ${key.value}`, '', 'This secret is shown only now; it cannot be recovered.', ''].join('\n'),
        );
      }),
    );
  keys
    .command('list')
    .addOption(projectOpt())
    .option('--all', 'include revoked keys')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const all = await listAll(b, `/v1/organization/projects/${pid}/api_keys`, o.all ? 'include_revoked=true' : '');
        print(g, { object: 'list', data: all }, () => table(keyRows(all), KEY_COLUMNS));
      }, { readOnly: true }),
    );
  keys
    .command('show')
    .argument('<key_id>')
    .addOption(projectOpt())
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        // A revoked key is gone from the API's default answers; the CLI still shows it by id, for the record.
        const key = await callApi(b, 'GET', `/v1/organization/projects/${pid}/api_keys/${encodeURIComponent(id)}?include_revoked=true`);
        print(g, key, () => table(keyRows([key]), [...KEY_COLUMNS, 'allowed_ips']));
      }, { readOnly: true }),
    );
  keys
    .command('rename')
    .argument('<key_id>')
    .argument('<name>')
    .addOption(projectOpt())
    .action(async (id: string, name: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const key = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys/${encodeURIComponent(id)}`, { name });
        print(g, key, () => `Renamed ${id} to ${shown(key.name)}.\n`);
      }),
    );
  keys
    .command('expiry')
    .description("set or clear a key's expiry")
    .argument('<key_id>')
    .argument('<when>', 'unix seconds, ISO 8601 date or time (UTC without a zone), 30d/12h/90m from now, or none (never expires)')
    .addOption(projectOpt())
    .action(async (id: string, when: string, o, cmd: Command) => {
      // Read before the backend opens, as --expires is; `none` is the API's null (no expiry), as `limits set --rpm none`.
      const expiresAt = when === 'none' ? null : parseWhen(when, Math.floor(cliClock()() / 1000), '<when>', 'ahead');
      return withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const key = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys/${encodeURIComponent(id)}`, { expires_at: expiresAt });
        print(g, key, () => (key.expires_at == null ? `${id} no longer expires.\n` : `${id} now expires at ${time(key.expires_at)}.\n`));
      });
    });
  keys
    .command('rotate')
    .argument('<key_id>')
    .addOption(projectOpt())
    .option('--grace <seconds>', 'how long the old secret keeps working (0: not at all)', wholeSeconds)
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const key = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys/${encodeURIComponent(id)}/rotate`, {
          grace_period_seconds: o.grace,
        });
        print(g, key, () =>
          [
            `Rotated ${id}. New secret (shown only now):`,
            '',
            `  ${key.value}`,
            '',
            // With no grace the old secret ended as the new one was made: "works until <now>" read as though it still did.
            o.grace === 0 ? 'The old secret stopped working now.' : `The old secret works until ${time(key.previous_secret_expires_at)}.`,
            '',
          ].join('\n'),
        );
      }),
    );
  keys
    .command('revoke')
    .argument('<key_id>')
    .addOption(projectOpt())
    .action(async (id: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const res = await callApi(b, 'DELETE', `/v1/organization/projects/${pid}/api_keys/${encodeURIComponent(id)}`);
        print(g, res, () => `Revoked ${id}.\n`);
      }),
    );

  program
    .command('audit')
    .description('the audit log, newest first')
    .addOption(listOption('--type <types>', 'comma-separated event types (repeatable)'))
    .option('--project <project>', 'project id or name')
    .option('--actor <id>', 'actor id')
    .option('--since <when>', 'only entries at or after this time: unix seconds, ISO 8601 date or time (UTC without a zone), or 7d/12h/30m ago')
    .option('--limit <n>', 'entries to show (1-100)', auditLimit, 20)
    .action(async (o, cmd: Command) => {
      // Checked before the backend opens, in the flags' words (the API's would name effective_at[gte]). A type
      // Tollgate never writes matches nothing: a typo would pass as "nothing happened".
      const unknown = ((o.type as string[] | undefined) ?? []).find((t) => !(AUDIT_EVENT_TYPES as string[]).includes(t));
      if (unknown !== undefined) throw new CliError(`--type: '${unknown}' is not an audit event type (they are ${AUDIT_EVENT_TYPES.join(', ')})`);
      const since = o.since === undefined ? undefined : parseWhen(o.since, Math.floor(cliClock()() / 1000), '--since', 'ago');
      return withBackend(cmd, async (b, g) => {
        const q = new URLSearchParams({ limit: String(o.limit) });
        for (const type of (o.type as string[] | undefined) ?? []) q.append('event_types[]', type);
        if (o.project) q.set('project_ids', await projectIdOf(b, o.project));
        if (o.actor) q.set('actor_ids', o.actor);
        if (since !== undefined) q.set('effective_at[gte]', String(since));
        const res = await callApi(b, 'GET', `/v1/organization/audit_logs?${q}`);
        const rows = listItems(res, '/v1/organization/audit_logs').map((e) => {
          // OpenAI's actor (a session or an API key), or null with Tollgate's account of who acted (cli, system, reporter).
          const actor = (e.actor ?? e.tollgate_actor ?? {}) as Record<string, unknown>;
          const who =
            actor.type === 'api_key'
              ? (actor.api_key as { id: string }).id
              : actor.type === 'session'
                ? ((actor.session as { user: { email?: string } }).user.email ?? '')
                : `${actor.type}${actor.id ? `:${actor.id}` : ''}`;
          const obj = e[e.type as string] as { id?: string } | undefined;
          return { time: time(e.effective_at), type: e.type, actor: who, object: obj?.id ?? '-', project: (e.project as { id: string } | undefined)?.id };
        });
        print(g, res, () => table(rows, ['time', 'type', 'actor', 'object', 'project']));
      }, { readOnly: true });
    });
  registerScanCommand(program);
  registerLimitsCommands(program);
  registerObjectsCommand(program);
  registerProvidersCommands(program);
  registerUsersCommands(program);
  registerInvitesCommands(program);
  registerServiceAccountsCommands(program);
  registerUsageCommand(program, {
    get env() {
      return cliIo().env;
    },
    out: (t) => cliIo().out(t),
  });
  return program;
}

/** A command and all its subcommands, depth first. */
function commandTree(command: Command): Command[] {
  return [command, ...command.commands.flatMap((c) => commandTree(c as Command))];
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], customIo?: CliIo): Promise<number> {
  return (await runCliCommand(argv, customIo)).code;
}

/**
 * Runs the CLI; returns the exit code and whether the command started the server (`serve`, wherever it stands among
 * the options: found by review, run.ts looked at argv[2], and `tollgate --json serve` exited at once, no server started).
 */
export async function runCliCommand(argv: string[], customIo?: CliIo): Promise<{ code: number; serving: boolean }> {
  let serving = false;
  const code = await withCliIo(customIo, async () => {
    try {
      const program = buildCli({ onServe: () => (serving = true) });
      // Commander copies these two settings only into subcommands made after they are set, so every command gets
      // them: a subcommand's usage error or help returns its code instead of exiting the process, and commander's own
      // messages (they echo arguments) go through the same safe output.
      for (const command of commandTree(program)) {
        command.exitOverride();
        refuseEmptyOrRepeatedValues(command);
        command.configureOutput({ writeOut: (t) => cliIo().out(t), writeErr: (t) => cliIo().err(t) });
      }
      await program.parseAsync(argv);
      return 0;
    } catch (err) {
      const e = err as { code?: string; exitCode?: number; message?: string };
      if (e.code?.startsWith('commander.')) return e.exitCode ?? 1;
      cliIo().err(`error: ${e.message ?? String(err)}\n`);
      return 1;
    }
  });
  return { code, serving };
}
