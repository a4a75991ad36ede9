import { type Command, Option } from 'commander';
import type { Backend } from './backend.js';
import { CliError, callApi, listAll, listPages, withBackend } from './admin-client.js';
import { type CliIo, cliIo } from './io.js';
import { listOption, positiveNumber } from './option-values.js';
import { jsonList, shown, table, time } from './output.js';

// `tollgate providers …`: providers and their keys managed at run time (docs/providers.md), over the same admin routes
// as the server's. A key is best not an argument (--value lands in shell history and `ps`): it is read from standard
// input with --value-stdin (as `docker login --password-stdin`) or asked for on the terminal without echo, and is never
// printed back (only its redacted form).

const BASE = '/v1/organization/providers';

/** A provider id from an id or an exact name (every page read). */
async function providerIdOf(b: Backend, ref: string): Promise<string> {
  if (ref.startsWith('prov_')) return ref;
  for await (const items of listPages(b, BASE)) {
    const found = items.find((p) => p.name === ref);
    if (found) return String(found.id);
  }
  throw new CliError(`No runtime provider named ${shown(ref)}.`);
}

/** The provider key: --value, else standard input's first line (--value-stdin), else asked for without echo. */
async function readKey(io: CliIo, o: { value?: string; valueStdin?: boolean }): Promise<string> {
  if (o.value !== undefined) return o.value;
  if (o.valueStdin) {
    if (!io.readStdin) throw new CliError('no standard input to read the key from');
    const key = (await io.readStdin()).split(/\r?\n/)[0].trim();
    if (!key) throw new CliError('--value-stdin: standard input holds no key');
    return key;
  }
  if (!io.promptHidden) throw new CliError('no terminal to ask for the key on: pipe it in with --value-stdin');
  const key = (await io.promptHidden('Provider key: ', '--value-stdin')).trim();
  if (!key) throw new CliError('no key given');
  return key;
}

/** Registers `providers list|create|delete` and `providers credentials list|add|rotate|disable|enable|delete`. */
export function registerProvidersCommands(program: Command): void {
  const providers = program.command('providers').description('providers and their keys added at run time (beside the config file)');
  providers
    .command('list')
    .action(async (_o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const rows = await listAll(b, BASE);
        const shownRows = rows.map((r) => ({ ...r, models: [...(r.models as string[]), ...(r.model_prefixes as string[]).map((p) => `${p}*`)].join(',') }));
        cliIo().out(g.json ? jsonList(rows) : table(shownRows, ['id', 'name', 'kind', 'base_url', 'models']));
      }, { readOnly: true }),
    );
  providers
    .command('create')
    .argument('<name>')
    .requiredOption('--base-url <url>', "the provider's API base URL (e.g. https://api.openai.com/v1)")
    .option('--kind <kind>', 'openai (default), azure-openai or anthropic')
    .addOption(listOption('--model <ids>', 'models it serves, by exact id (comma-separated, repeatable)'))
    .addOption(listOption('--model-prefix <prefixes>', 'models it serves, by prefix, e.g. claude- (comma-separated, repeatable)'))
    .option('--api-version <version>', 'api-version (azure-openai) or default anthropic-version')
    .action(async (name: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const body = {
          name,
          base_url: o.baseUrl,
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.model ? { models: o.model } : {}),
          ...(o.modelPrefix ? { model_prefixes: o.modelPrefix } : {}),
          ...(o.apiVersion ? { api_version: o.apiVersion } : {}),
        };
        const res = await callApi(b, 'POST', BASE, body);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Created provider ${shown(res.name)} (${res.id}). Add its keys with: tollgate providers credentials add ${res.id}\n`);
      }),
    );
  providers
    .command('delete')
    .argument('<provider>', 'provider id or name')
    .action(async (ref: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await providerIdOf(b, ref);
        const res = await callApi(b, 'DELETE', `${BASE}/${id}`);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Deleted provider ${id} and its keys.\n`);
      }),
    );

  const creds = providers.command('credentials').description("a runtime provider's keys");
  creds
    .command('list')
    .argument('<provider>', 'provider id or name')
    .action(async (ref: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await providerIdOf(b, ref);
        const rows = await listAll(b, `${BASE}/${id}/credentials`);
        const shownRows = rows.map((r) => ({ ...r, created: time(r.created_at) }));
        cliIo().out(g.json ? jsonList(rows) : table(shownRows, ['id', 'redacted_value', 'weight', 'status', 'disabled_reason', 'created']));
      }, { readOnly: true }),
    );
  creds
    .command('add')
    .argument('<provider>', 'provider id or name')
    .option('--weight <n>', 'its share of requests (default 1)', positiveNumber)
    .addOption(new Option('--value <key>', 'the key itself (else asked for without echo)').conflicts('valueStdin'))
    .option('--value-stdin', 'read the key from standard input (its first line)')
    .action(async (ref: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await providerIdOf(b, ref);
        const value = await readKey(cliIo(), o);
        const res = await callApi(b, 'POST', `${BASE}/${id}/credentials`, { value, ...(o.weight !== undefined ? { weight: o.weight } : {}) });
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Added key ${res.redacted_value} (${res.id}) to ${id}.\n`);
      }),
    );
  creds
    .command('rotate')
    .argument('<provider>', 'provider id or name')
    .argument('<credential_id>')
    .addOption(new Option('--value <key>', 'the new key (else asked for without echo)').conflicts('valueStdin'))
    .option('--value-stdin', 'read the new key from standard input (its first line)')
    .action(async (ref: string, credId: string, o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await providerIdOf(b, ref);
        const value = await readKey(cliIo(), o);
        const res = await callApi(b, 'POST', `${BASE}/${id}/credentials/${encodeURIComponent(credId)}/rotate`, { value });
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Replaced key ${credId}: now ${res.redacted_value}.\n`);
      }),
    );
  for (const [verb, done] of [
    ['disable', 'Disabled'],
    ['enable', 'Enabled'],
  ] as const) {
    creds
      .command(verb)
      .argument('<provider>', 'provider id or name')
      .argument('<credential_id>')
      .action(async (ref: string, credId: string, _o, cmd: Command) =>
        withBackend(cmd, async (b, g) => {
          const id = await providerIdOf(b, ref);
          const res = await callApi(b, 'POST', `${BASE}/${id}/credentials/${encodeURIComponent(credId)}/${verb}`);
          cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `${done} key ${credId} (${res.redacted_value}).\n`);
        }),
      );
  }
  creds
    .command('delete')
    .argument('<provider>', 'provider id or name')
    .argument('<credential_id>')
    .action(async (ref: string, credId: string, _o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const id = await providerIdOf(b, ref);
        const res = await callApi(b, 'DELETE', `${BASE}/${id}/credentials/${encodeURIComponent(credId)}`);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Deleted key ${credId}.\n`);
      }),
    );
}
