import type { Command } from 'commander';
import { RATE_LIMIT_UNLIMITED } from '../core/project-rate-limits.js';
import type { Backend } from './backend.js';
import { CliError, callApi, projectIdOf, resultOf, withBackend } from './admin-client.js';
import { cliIo } from './io.js';
import { table } from './output.js';

// `tollgate limits …` and `tollgate budget …`: rate limits, spend limits and quotas over the admin API.

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got '${v}'`);
  return n;
};

const ORG = '/v1/organization';

/** Every item of a list, page after page. */
async function listAll(b: Backend, path: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let after = '';
  for (let page = 0; page < 1000; page++) {
    const res = await callApi(b, 'GET', `${path}?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    out.push(...(res.data as Array<Record<string, unknown>>));
    if (!res.has_more) break;
    after = String(res.last_id);
  }
  return out;
}

const LIMIT_COLUMNS = ['max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day', 'max_images_per_1_minute', 'max_audio_megabytes_per_1_minute', 'batch_1_day_max_input_tokens'];

/** Whether a listed rate limit sets anything (the list shows every model, limited or not). */
const isSet = (r: Record<string, unknown>) => LIMIT_COLUMNS.some((c) => typeof r[c] === 'number' && r[c] !== RATE_LIMIT_UNLIMITED);

/** Registers `limits` and `budget`. */
export function registerLimitsCommands(program: Command): void {
  const limits = program.command('limits').description('rate limits (RPM, TPM, RPD) of projects, models and keys');
  limits
    .command('list')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--all', 'every model the project can use, limited or not')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const all = await listAll(b, `${ORG}/projects/${pid}/rate_limits`);
        const rows = o.all ? all : all.filter(isSet);
        if (g.json) return cliIo().out(`${JSON.stringify(rows, null, 2)}\n`);
        const shown = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === RATE_LIMIT_UNLIMITED ? 'unlimited' : v])));
        cliIo().out(table(shown, ['id', 'model', ...LIMIT_COLUMNS]));
      }),
    );
  limits
    .command('set')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--model <model>', 'limit one model of the project (default: all models together)')
    .option('--key <key_id>', 'limit one key instead of the project')
    .option('--rpm <n>', 'requests per minute', int)
    .option('--tpm <n>', 'tokens per minute', int)
    .option('--rpd <n>', 'requests per day', int)
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        if (o.rpm === undefined && o.tpm === undefined && o.rpd === undefined) throw new CliError('give at least one of --rpm, --tpm, --rpd');
        const limits = { max_requests_per_1_minute: o.rpm, max_tokens_per_1_minute: o.tpm, max_requests_per_1_day: o.rpd };
        let res: Record<string, unknown>;
        if (o.key) {
          res = await callApi(b, 'POST', `${ORG}/projects/${pid}/api_keys/${o.key}`, { rate_limits: limits });
        } else {
          // OpenAI's update of the model's limit (`rl-<model>`); a model this instance does not list is added instead.
          const model = o.model ?? '*';
          const update = await b.call('POST', `${ORG}/projects/${pid}/rate_limits/${encodeURIComponent(`rl-${model}`)}`, limits);
          res = update.status === 404 ? await callApi(b, 'POST', `${ORG}/projects/${pid}/rate_limits`, { model, ...limits }) : await resultOf(update);
        }
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Rate limit set for ${o.key ? `key ${o.key}` : `${pid} (${o.model ?? 'all models'})`}.\n`);
      }),
    );

  const budget = program.command('budget').description('spend limits, spend alerts and request quotas');
  budget
    .command('set')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--key <key_id>', 'set it on one key instead of the project')
    .option('--usd <amount>', 'spend limit in US dollars per interval', Number)
    .option('--interval <interval>', 'day | week | month | total | rolling_<N>d', 'month')
    .option('--notify-only', 'watch the limit without refusing requests (projects)')
    .option('--alerts <percents>', "spend alerts at these percents of --usd, e.g. 50,80,100, replacing the project's (projects, monthly limits)")
    .option('--requests <n>', 'request quota (keys)', int)
    .option('--requests-interval <interval>', 'day | month | total', 'total')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        if (o.usd !== undefined && !(o.usd > 0)) throw new CliError(`--usd expects an amount above zero, got '${o.usd}'`);
        if (o.usd === undefined && !o.requests) throw new CliError('give --usd or (with --key) --requests');
        const cents = o.usd !== undefined ? Math.round(o.usd * 100) : undefined;
        const percents = o.alerts ? String(o.alerts).split(',').map(Number) : [];
        if (percents.some((p) => !Number.isInteger(p) || p < 1 || p > 1000)) throw new CliError(`--alerts expects whole percents from 1 to 1000, got '${o.alerts}'`);
        if (o.alerts && o.interval !== 'month') throw new CliError('--alerts needs a monthly limit: spend alerts are of the month\'s spend');
        const out: Record<string, unknown> = {};
        if (o.key) {
          out.key = await callApi(b, 'POST', `${ORG}/projects/${pid}/api_keys/${o.key}`, {
            ...(cents !== undefined ? { spend_limit: { threshold_amount: cents, interval: o.interval } } : {}),
            ...(o.requests ? { request_quota: { max_requests: o.requests, interval: o.requestsInterval } } : {}),
          });
        } else if (cents !== undefined) {
          out.spend_limit = await callApi(b, 'POST', `${ORG}/projects/${pid}/spend_limit`, {
            threshold_amount: cents,
            currency: 'USD',
            interval: o.interval,
            enforcement: { status: o.notifyOnly ? 'inactive' : 'enforcing' },
          });
          if (o.alerts) {
            const alerts = `${ORG}/projects/${pid}/spend_alerts`;
            for (const old of await listAll(b, alerts)) await callApi(b, 'DELETE', `${alerts}/${old.id}`);
            out.spend_alerts = [];
            for (const p of [...new Set(percents)].sort((x, y) => x - y)) {
              const body = { threshold_amount: Math.round((cents * p) / 100), currency: 'USD', interval: 'month', notification_channel: { type: 'email', recipients: [] } };
              (out.spend_alerts as unknown[]).push(await callApi(b, 'POST', alerts, body));
            }
          }
        }
        cliIo().out(g.json ? `${JSON.stringify(out, null, 2)}\n` : `Budget set for ${o.key ? `key ${o.key}` : pid}.\n`);
      }),
    );
}
