import { type Command, InvalidArgumentError } from 'commander';
import { RATE_LIMIT_UNLIMITED } from '../core/project-rate-limits.js';
import type { Backend } from './backend.js';
import { CliError, answerOf, callApi, listAll, projectIdOf, resultOf, withBackend } from './admin-client.js';
import { type BudgetOptions, type BudgetPlan, planBudget } from './budget-plan.js';
import { cliIo } from './io.js';
import { positiveInteger } from './option-values.js';
import { jsonList, table } from './output.js';

// `tollgate limits …` and `tollgate budget …`: rate limits, spend limits and quotas over the admin API.

/** A limit: a positive whole number, or `none` to remove it (kept as 'none': commander turns a parsed null into ''). */
const limitValue = (v: string): number | 'none' => {
  if (v === 'none') return v;
  if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) {
    throw new InvalidArgumentError(`expected a positive whole number or none (to remove the limit), got '${v}'`);
  }
  return Number(v);
};

const RATE_LIMIT_MEMBERS = ['max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day'] as const;
type RateLimits = Partial<Record<(typeof RATE_LIMIT_MEMBERS)[number], number | null>>;

/**
 * A key's rate limits with `given` applied: the admin API replaces a key's `rate_limits` whole (as it does its other
 * members), so the CLI sends what the key has with the limits it was given changed, as a project's update keeps the
 * members left out. Null (`none`) removes one; with none left the key has no rate limits (null).
 */
export function mergedKeyRateLimits(current: RateLimits | null | undefined, given: RateLimits): RateLimits | null {
  const merged: RateLimits = {};
  for (const member of RATE_LIMIT_MEMBERS) {
    const value = given[member] !== undefined ? given[member] : current?.[member];
    if (typeof value === 'number') merged[member] = value;
  }
  return Object.keys(merged).length ? merged : null;
}

const ORG = '/v1/organization';

const LIMIT_COLUMNS = ['max_requests_per_1_minute', 'max_tokens_per_1_minute', 'max_requests_per_1_day', 'max_images_per_1_minute', 'max_audio_megabytes_per_1_minute', 'batch_1_day_max_input_tokens'];

/** Whether a listed rate limit sets anything (the list shows every model, limited or not). */
const isSet = (r: Record<string, unknown>) => LIMIT_COLUMNS.some((c) => typeof r[c] === 'number' && r[c] !== RATE_LIMIT_UNLIMITED);

/** The ids of these spend alerts that could not be deleted (one already gone counts as deleted), and the first error. */
async function deleteAlerts(b: Backend, path: string, ids: string[]): Promise<{ left: string[]; error: string }> {
  const left: string[] = [];
  let error = '';
  for (const id of ids) {
    try {
      const res = await b.call('DELETE', `${path}/${id}`);
      if (res.status !== 404) resultOf(res);
    } catch (err) {
      left.push(id);
      error ||= (err as Error).message;
    }
  }
  return { left, error };
}

/**
 * Sets a project's spend limit and, with --alerts, replaces its spend alerts. The new alerts are made first, then the
 * limit is set, then the old alerts go: until the limit is set, a refusal removes what this run made and leaves the
 * previous budget; after it, old alerts that could not be deleted are named. (Both sets exist for that moment: a
 * month's spend crossing one then may be told twice.)
 */
async function writeProjectBudget(b: Backend, pid: string, plan: Extract<BudgetPlan, { kind: 'project' }>): Promise<Record<string, unknown>> {
  const limitPath = `${ORG}/projects/${pid}/spend_limit`;
  if (!plan.alerts) return { spend_limit: await callApi(b, 'POST', limitPath, plan.spendLimit) };
  const alertsPath = `${ORG}/projects/${pid}/spend_alerts`;
  const old = await listAll(b, alertsPath);
  const made: Array<Record<string, unknown>> = [];
  let spendLimit: Record<string, unknown>;
  try {
    for (const body of plan.alerts) made.push(await callApi(b, 'POST', alertsPath, body));
    spendLimit = await callApi(b, 'POST', limitPath, plan.spendLimit);
  } catch (err) {
    const undo = await deleteAlerts(b, alertsPath, made.map((a) => String(a.id)));
    const what = undo.left.length
      ? `the spend limit and the old spend alerts are unchanged, but the new spend alerts ${undo.left.join(', ')} could not be removed again (${undo.error}): delete them with DELETE ${alertsPath}/<id>`
      : 'nothing was changed';
    throw new CliError(`${(err as Error).message}; ${what}`);
  }
  const stale = await deleteAlerts(b, alertsPath, old.map((a) => String(a.id)));
  if (stale.left.length) {
    throw new CliError(`the spend limit and the new spend alerts are set, but the old spend alerts ${stale.left.join(', ')} could not be deleted (${stale.error}): delete them with DELETE ${alertsPath}/<id>`);
  }
  return { spend_limit: spendLimit, spend_alerts: made };
}

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
        if (g.json) return cliIo().out(jsonList(rows));
        const shown = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === RATE_LIMIT_UNLIMITED ? 'unlimited' : v])));
        cliIo().out(table(shown, ['id', 'model', ...LIMIT_COLUMNS]));
      }, { readOnly: true }),
    );
  limits
    .command('set')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--model <model>', 'limit one model of the project (default: all models together)')
    .option('--key <key_id>', 'limit one key instead of the project')
    .option('--rpm <n>', 'requests per minute (none: remove the limit)', limitValue)
    .option('--tpm <n>', 'tokens per minute (none: remove the limit)', limitValue)
    .option('--rpd <n>', 'requests per day (none: remove the limit)', limitValue)
    .action(async (o, cmd: Command) =>
      withBackend(cmd, async (b, g) => {
        if (o.rpm === undefined && o.tpm === undefined && o.rpd === undefined) throw new CliError('give at least one of --rpm, --tpm, --rpd');
        // A key's rate limits hold for all its models together: there is no per-model limit of a key to set.
        if (o.key && o.model !== undefined) throw new CliError("--model limits a model of the project; a key's rate limits cover all its models: give --model or --key, not both");
        const pid = await projectIdOf(b, o.project);
        // `none` is null to the admin API: it removes that limit.
        const given = (v: number | 'none' | undefined) => (v === 'none' ? null : v);
        const limits = { max_requests_per_1_minute: given(o.rpm), max_tokens_per_1_minute: given(o.tpm), max_requests_per_1_day: given(o.rpd) };
        let res: Record<string, unknown>;
        if (o.key) {
          // Read, then written whole: a change another admin makes to this key's rate limits in between is overwritten.
          const keyPath = `${ORG}/projects/${pid}/api_keys/${encodeURIComponent(o.key)}`;
          const current = (await callApi(b, 'GET', keyPath)).rate_limits as RateLimits | null;
          res = await callApi(b, 'POST', keyPath, { rate_limits: mergedKeyRateLimits(current, limits) });
        } else {
          // OpenAI's update of the model's limit (`rl-<model>`); a model this instance does not list is added instead.
          const model = o.model ?? '*';
          const updatePath = `${ORG}/projects/${pid}/rate_limits/${encodeURIComponent(`rl-${model}`)}`;
          const update = await b.call('POST', updatePath, limits);
          res = update.status === 404 ? await callApi(b, 'POST', `${ORG}/projects/${pid}/rate_limits`, { model, ...limits }) : answerOf('POST', updatePath, update);
        }
        cliIo().out(g.json ? `${JSON.stringify(res, null, 2)}\n` : `Rate limit set for ${o.key ? `key ${o.key}` : `${pid} (${o.model ?? 'all models'})`}.\n`);
      }),
    );

  const budget = program.command('budget').description('spend limits, spend alerts and request quotas');
  budget
    .command('set')
    .option('--project <project>', 'project id or name', 'Default project')
    .option('--key <key_id>', 'set it on one key instead of the project')
    .option('--usd <amount>', 'spend limit in US dollars (and cents) per interval')
    .option('--interval <interval>', 'day | week | month | total | rolling_<N>d', 'month')
    .option('--notify-only', "watch the limit without refusing requests (projects; a key's spend limit always refuses)")
    .option('--alerts <percents>', "spend alerts at these percents of --usd, e.g. 50,80,100, replacing the project's (projects, monthly limits; a key's limit tells at 50, 80 and 100 %)")
    .option('--requests <n>', 'request quota (keys)', positiveInteger)
    .option('--requests-interval <interval>', 'day | month | total', 'total')
    .action(async (o: BudgetOptions, cmd: Command) => {
      // Checked before the backend opens: a refusal touches nothing, not even a fresh local data dir.
      const plan = planBudget(o, (flag) => {
        const source = cmd.getOptionValueSource(flag);
        return source !== undefined && source !== 'default';
      });
      return withBackend(cmd, async (b, g) => {
        const pid = await projectIdOf(b, o.project);
        const out =
          plan.kind === 'key'
            ? { key: await callApi(b, 'POST', `${ORG}/projects/${pid}/api_keys/${plan.keyId}`, plan.body) }
            : await writeProjectBudget(b, pid, plan);
        cliIo().out(g.json ? `${JSON.stringify(out, null, 2)}\n` : `Budget set for ${plan.kind === 'key' ? `key ${plan.keyId}` : pid}.\n`);
      });
    });
}
