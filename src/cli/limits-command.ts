import type { Command } from 'commander';
import { openBackend } from './backend.js';
import { cliIo } from './io.js';
import { table } from './output.js';

// `tollgate limits …` and `tollgate budget …`: rate limits, spend limits and quotas over the admin API.

interface Globals {
  json?: boolean;
  server?: string;
  adminKey?: string;
}

async function run(cmd: Command, fn: (call: (m: string, p: string, b?: unknown) => Promise<Record<string, unknown>>, g: Globals) => Promise<void>): Promise<void> {
  const g = cmd.optsWithGlobals() as Globals;
  const backend = await openBackend({ server: g.server, adminKey: g.adminKey }, cliIo().env);
  try {
    await fn(async (m, p, b) => {
      const res = await backend.call(m, p, b);
      if (res.status >= 400) {
        const e = (res.body as { error?: { message?: string; code?: string } } | null)?.error;
        throw new Error(`${e?.message ?? `HTTP ${res.status}`}${e?.code ? ` (${e.code})` : ''}`);
      }
      return res.body as Record<string, unknown>;
    }, g);
  } finally {
    await backend.close();
  }
}

async function projectId(call: (m: string, p: string) => Promise<Record<string, unknown>>, ref: string): Promise<string> {
  if (ref.startsWith('proj_')) return ref;
  const list = await call('GET', '/v1/organization/projects?limit=100&include_archived=true');
  const p = (list.data as Array<{ id: string; name: string }>).find((x) => x.name === ref);
  if (!p) throw new Error(`No project named '${ref}'.`);
  return p.id;
}

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
      run(cmd, async (call, g) => {
        const pid = await projectId(call, o.project);
        const res = await call('GET', `/v1/organization/projects/${pid}/rate_limits`);
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
      run(cmd, async (call, g) => {
        const pid = await projectId(call, o.project);
        const limits = { max_requests_per_1_minute: o.rpm, max_tokens_per_1_minute: o.tpm, max_requests_per_1_day: o.rpd };
        let res: Record<string, unknown>;
        if (o.key) {
          res = await call('POST', `/v1/organization/projects/${pid}/api_keys/${o.key}`, { rate_limits: limits });
        } else {
          const list = await call('GET', `/v1/organization/projects/${pid}/rate_limits`);
          const model = o.model ?? '*';
          const existing = (list.data as Array<{ id: string; model: string }>).find((r) => r.model === model);
          res = existing
            ? await call('POST', `/v1/organization/projects/${pid}/rate_limits/${existing.id}`, limits)
            : await call('POST', `/v1/organization/projects/${pid}/rate_limits`, { model, ...limits });
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
      run(cmd, async (call, g) => {
        const pid = await projectId(call, o.project);
        const cents = o.usd !== undefined ? Math.round(o.usd * 100) : undefined;
        const out: Record<string, unknown> = {};
        if (o.key) {
          out.key = await call('POST', `/v1/organization/projects/${pid}/api_keys/${o.key}`, {
            ...(cents !== undefined ? { spend_limit: { threshold_amount: cents, interval: o.interval } } : {}),
            ...(o.requests ? { request_quota: { max_requests: o.requests, interval: o.requestsInterval } } : {}),
          });
        } else {
          if (cents !== undefined || o.notifyOnly) {
            out.spend_limit = await call('POST', `/v1/organization/projects/${pid}/spend_limit`, {
              threshold_amount: cents ?? null,
              interval: o.interval,
              enforcement: { status: o.notifyOnly ? 'disabled' : 'enabled' },
            });
          }
          if (o.alerts) out.spend_alerts = await call('POST', `/v1/organization/projects/${pid}/spend_alerts`, { thresholds: String(o.alerts).split(',').map(Number) });
        }
        cliIo().out(g.json ? `${JSON.stringify(out, null, 2)}\n` : `Budget set for ${o.key ? `key ${o.key}` : pid}.\n`);
      }),
    );
}
