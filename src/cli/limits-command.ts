import type { Command } from 'commander';
import { CliError, callApi, projectIdOf, withBackend } from './admin-client.js';
import { cliIo } from './io.js';
import { table } from './output.js';

// `tollgate limits …` and `tollgate budget …`: rate limits, spend limits and quotas over the admin API.

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got '${v}'`);
  return n;
};

/** Registers `limits` and `budget`. */
export function registerLimitsCommands(program: Command): void {
  const limits = program.command('limits').description('rate limits (RPM, TPM, RPD) of projects, models and keys');
  limits
    .command('list')
    .option('--project <project>', 'project id or name', 'Default project')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const res = await callApi(b, 'GET', `/v1/organization/projects/${pid}/rate_limits`);
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : table(res.data as Array<Record<string, unknown>>, ['id', 'model', 'max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day']));
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
          res = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys/${o.key}`, { rate_limits: limits });
        } else {
          const list = await callApi(b, 'GET', `/v1/organization/projects/${pid}/rate_limits`);
          const model = o.model ?? '*';
          const existing = (list.data as Array<{ id: string; model: string }>).find((r) => r.model === model);
          res = existing
            ? await callApi(b, 'POST', `/v1/organization/projects/${pid}/rate_limits/${existing.id}`, limits)
            : await callApi(b, 'POST', `/v1/organization/projects/${pid}/rate_limits`, { model, ...limits });
        }
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Rate limit set for ${o.key ? `key ${o.key}` : `${pid} (${o.model ?? 'all models'})`}.\n`);
      }),
    );

  const budget = program.command('budget').description('spend limits and request quotas');
  budget
    .command('set')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--key <key_id>', 'set it on one key instead of the project')
    .option('--usd <amount>', 'spend limit in US dollars per interval', Number)
    .option('--interval <interval>', 'day | week | month | total | rolling_<N>d', 'month')
    .option('--notify-only', 'alert at the thresholds but do not block (projects)')
    .option('--alerts <percents>', 'alert thresholds, e.g. 50,80,100 (projects)')
    .option('--requests <n>', 'request quota (keys)', int)
    .option('--requests-interval <interval>', 'day | month | total', 'total')
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        if (o.usd !== undefined && !(o.usd > 0)) throw new CliError(`--usd expects an amount above zero, got '${o.usd}'`);
        if (o.usd === undefined && !o.notifyOnly && !o.alerts && !o.requests) throw new CliError('give --usd, --alerts, --notify-only or (with --key) --requests');
        const cents = o.usd !== undefined ? Math.round(o.usd * 100) : undefined;
        const out: Record<string, unknown> = {};
        if (o.key) {
          out.key = await callApi(b, 'POST', `/v1/organization/projects/${pid}/api_keys/${o.key}`, {
            ...(cents !== undefined ? { spend_limit: { threshold_amount: cents, interval: o.interval } } : {}),
            ...(o.requests ? { request_quota: { max_requests: o.requests, interval: o.requestsInterval } } : {}),
          });
        } else {
          if (cents !== undefined || o.notifyOnly) {
            out.spend_limit = await callApi(b, 'POST', `/v1/organization/projects/${pid}/spend_limit`, {
              threshold_amount: cents ?? null,
              interval: o.interval,
              enforcement: { status: o.notifyOnly ? 'disabled' : 'enabled' },
            });
          }
          if (o.alerts) out.spend_alerts = await callApi(b, 'POST', `/v1/organization/projects/${pid}/spend_alerts`, { thresholds: String(o.alerts).split(',').map(Number) });
        }
        cliIo().out(g.json ? `${JSON.stringify(out, null, 2)}\n` : `Budget set for ${o.key ? `key ${o.key}` : pid}.\n`);
      }),
    );
}
