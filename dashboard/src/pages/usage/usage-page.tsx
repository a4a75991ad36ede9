import { useCallback, useId, useMemo, useState } from 'preact/hooks';
import { getBudgets, getCosts, getMeteredUsage, getRefusals, maxUsageRangeDays, resolveNames, searchAllKeys } from '../../api-client.js';
import { LoadError } from '../../components/load-error.js';
import { StandingMeter } from '../../components/standing.js';
import { formatNumber, formatUsd, fromUtcDateInput, toUtcDateInput } from '../../format.js';
import { keyHref } from '../../router.js';
import { useSession } from '../../session.js';
import type { NamedObject, Standing } from '../../types.js';
import { type Resource, shown, useResource } from '../../use-resource.js';
import { downloadText } from './download.js';
import { RefusalTable } from './refusal-table.js';
import { StackedChart } from './stacked-chart.js';
import { costRows, costTotal, mergeKinds, stackByGroup, usageCsv, usageTotals } from './usage-data.js';
import type { CostRow, UsageResult } from './usage-types.js';

type Metric = 'requests' | 'refused' | 'tokens' | 'cost';
type GroupBy = 'model' | 'project_id' | 'api_key_id';
type Width = '1d' | '1h';

const DAY = 86_400;
const ALL_STATUSES = ['active', 'expired', 'exposed', 'suspended', 'revoked'] as const;

/** The last `days` UTC days, today's (UTC) included: the days the server buckets by. */
function lastDays(days: number): { start: string; end: string } {
  const now = Date.now() / 1000;
  return { start: toUtcDateInput(now - (days - 1) * DAY), end: toUtcDateInput(now) };
}

/**
 * Why a range of `seconds` is too long to read per `width`, or null. Every page of it is read (a long range once
 * showed only its oldest pages), up to a bound that keeps the page from making thousands of requests: said, not cut.
 */
function tooLong(seconds: number, width: Width): string | null {
  const days = maxUsageRangeDays(width);
  if (seconds <= days * DAY) return null;
  return width === '1h'
    ? `Per hour, a range is at most ${formatNumber(days)} days: choose a shorter range, or Per day.`
    : `A range is at most ${formatNumber(days)} days: choose a shorter range.`;
}

const METRIC_LABEL: Record<Metric, string> = { requests: 'Answered requests', refused: 'Refused requests', tokens: 'Tokens', cost: 'Cost' };
const GROUP_LABEL: Record<GroupBy, string> = { model: 'Model', project_id: 'Project', api_key_id: 'API key' };
/** The same, inside a sentence. */
const GROUP_WORD: Record<GroupBy, string> = { model: 'model', project_id: 'project', api_key_id: 'API key' };

/** The usage metrics, read from the Usage API (cost is read from the Costs API). */
const amountOf: Record<Exclude<Metric, 'cost'>, (r: UsageResult) => number> = {
  requests: (r) => r.num_model_requests,
  refused: (r) => r.num_refused_requests ?? 0,
  // Only chat, completions, responses and embeddings report tokens.
  tokens: (r) => (r.input_tokens ?? 0) + (r.output_tokens ?? 0),
};

/**
 * Usage: answered and refused requests of every metered kind (chat, completions, responses, embeddings, images,
 * speech, transcriptions), tokens (of those that have them) and cost over time, stacked by model, project or key;
 * refusals by reason; where budgets stand; filtered by project and key; CSV export. Cost is the Costs API's, per
 * day: it counts every billed request, as budgets do, where usage results leave out what no usage kind reports.
 */
export function UsagePage() {
  const { allProjects } = useSession();
  const [range, setRange] = useState(() => lastDays(7));
  const [width, setWidth] = useState<Width>('1d');
  const [metric, setMetric] = useState<Metric>('requests');
  const [groupBy, setGroupBy] = useState<GroupBy>('model');
  const [projectId, setProjectId] = useState('');
  const [keyId, setKeyId] = useState('');
  const ids = { start: useId(), end: useId(), width: useId(), metric: useId(), group: useId(), project: useId(), key: useId() };

  // The days picked are UTC days, as the server's daily buckets are: a local midnight would be widened to the UTC day
  // before it (docs/usage-api.md, Buckets and pages), adding a day the user did not pick.
  const startTime = fromUtcDateInput(range.start);
  const endTime = fromUtcDateInput(range.end) + DAY;
  // An empty date reads as NaN, which no comparison passes.
  const rangeError = !(endTime > startTime) ? 'The start date must be on or before the end date.' : tooLong(endTime - startTime, width);
  const projectIds = projectId ? [projectId] : undefined;
  const keyIds = keyId ? [keyId] : undefined;

  const keys = useResource(() => (projectId ? searchAllKeys(projectId, { status: [...ALL_STATUSES], order: 'name' }) : Promise.resolve([])), [projectId]);

  const usage = useResource(async () => {
    if (rangeError) return [];
    // Every dimension, so that the chart can group by any and the CSV carries project, key and model on each row.
    const q = { start_time: startTime, end_time: endTime, bucket_width: width, group_by: ['project_id', 'api_key_id', 'model'], project_ids: projectIds, api_key_ids: keyIds };
    return mergeKinds(await getMeteredUsage(q));
  }, [startTime, endTime, width, projectId, keyId, rangeError]);
  // By line item, for the chart by model; days only (the Costs API has no hours).
  const costs = useResource(async () => {
    if (rangeError) return [];
    const q = { start_time: startTime, end_time: endTime, group_by: ['project_id', 'api_key_id', 'line_item'], project_ids: projectIds, api_key_ids: keyIds };
    return costRows(await getCosts(q));
  }, [startTime, endTime, projectId, keyId, rangeError]);
  const refusals = useResource(
    () => (rangeError ? Promise.resolve(null) : getRefusals({ start: startTime, end: endTime, projectIds, apiKeyIds: keyIds })),
    [startTime, endTime, projectId, keyId, rangeError],
  );
  const budgets = useResource(() => getBudgets(projectId ? { projectId } : {}), [projectId]);

  const projectName = useMemo(() => new Map(allProjects.map((p) => [p.id, p.name])), [allProjects]);
  // Key names for the legend, the table and the CSV: looked up for the keys the results name.
  const keyIdsInResults = useMemo(() => {
    const ids = [...(usage.data ?? []), ...(costs.data ?? [])].flatMap((b) => b.results.map((r: { api_key_id: string | null }) => r.api_key_id));
    return [...new Set(ids.filter((x): x is string => !!x))];
  }, [usage.data, costs.data]);
  const names = useResource(() => (keyIdsInResults.length ? resolveNames(keyIdsInResults) : Promise.resolve(new Map<string, NamedObject>())), [keyIdsInResults.join(',')]);
  const keyName = useCallback((id: string) => names.data?.get(id)?.name, [names.data]);
  const labelOf = useCallback(
    (key: string) => {
      if (key === 'Other' || key === '(none)') return key;
      if (groupBy === 'project_id') return projectName.get(key) ?? key;
      if (groupBy === 'api_key_id') {
        const n = names.data?.get(key);
        return n ? `${n.name} (${n.detail ?? key})` : key;
      }
      return key;
    },
    [groupBy, projectName, names.data],
  );

  const series = useMemo(() => {
    if (metric === 'cost') return costs.data ? stackByGroup<CostRow>(costs.data, (r) => r[groupBy] ?? '(none)', (r) => r.cost_usd) : null;
    return usage.data ? stackByGroup(usage.data, (r) => r[groupBy] ?? '(none)', amountOf[metric]) : null;
  }, [usage.data, costs.data, metric, groupBy]);
  // Cost comes in days whatever the width asked.
  const hourly = width === '1h' && metric !== 'cost';
  const shownData = metric === 'cost' ? costs.data : usage.data;
  const formatValue = useCallback((v: number) => (metric === 'cost' ? formatUsd(v) : formatNumber(Math.round(v))), [metric]);
  const totals = usage.data ? usageTotals(usage.data) : null;
  const totalCost = costs.data ? costTotal(costs.data) : null;
  // A range refused shows no numbers (its resources answer none), not zeros.
  const stat = <T,>(r: Resource<unknown>, v: T | null | undefined, format: (v: T) => string) => (rangeError ? '—' : shown(r, v, format));
  const exportCsv = () => {
    if (!usage.data) return;
    const name = `tollgate-usage-${range.start}-to-${range.end}.csv`;
    downloadText(name, usageCsv(usage.data, { project: (id) => projectName.get(id), key: keyName }));
  };
  const standingName = (s: Standing) => (s.scope === 'organization' ? 'Organization (all projects)' : (projectName.get(s.id) ?? s.id));

  return (
    <>
      <div class="page-head">
        <div>
          <h1>Usage</h1>
          <p class="lede">What your organization's keys did through Tollgate: answered and refused requests, tokens and cost.</p>
        </div>
        <div class="page-tools">
          <button type="button" class="button" onClick={exportCsv} disabled={!usage.data || usage.data.length === 0}>
            Export CSV
          </button>
        </div>
      </div>

      <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Usage filters">
        <div class="field">
          <label for={ids.start}>From</label>
          <input id={ids.start} class="input" type="date" value={range.start} max={range.end} onChange={(e) => setRange({ ...range, start: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for={ids.end}>To</label>
          <input id={ids.end} class="input" type="date" value={range.end} min={range.start} onChange={(e) => setRange({ ...range, end: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for={ids.project}>Project</label>
          <select
            id={ids.project}
            class="input"
            value={projectId}
            onChange={(e) => {
              setProjectId(e.currentTarget.value);
              setKeyId('');
            }}
          >
            <option value="">All projects</option>
            {allProjects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
                {p.status === 'archived' ? ' (archived)' : ''}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.key}>API key</label>
          <select id={ids.key} class="input" value={keyId} disabled={!projectId} onChange={(e) => setKeyId(e.currentTarget.value)}>
            <option value="">{projectId ? 'All keys' : 'Choose a project first'}</option>
            {(keys.data ?? []).map((k) => (
              <option key={k.id} value={k.id}>
                {k.name.length > 60 ? `${k.name.slice(0, 59)}…` : k.name} ({k.redacted_value})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.metric}>Show</label>
          <select id={ids.metric} class="input" value={metric} onChange={(e) => setMetric(e.currentTarget.value as Metric)}>
            {(Object.keys(METRIC_LABEL) as Metric[]).map((m) => (
              <option key={m} value={m}>
                {METRIC_LABEL[m]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.group}>Group by</label>
          <select id={ids.group} class="input" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as GroupBy)}>
            {(Object.keys(GROUP_LABEL) as GroupBy[]).map((g) => (
              <option key={g} value={g}>
                {GROUP_LABEL[g]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.width}>Per</label>
          <select id={ids.width} class="input" value={width} onChange={(e) => setWidth(e.currentTarget.value as Width)}>
            <option value="1d">Day</option>
            <option value="1h">Hour</option>
          </select>
        </div>
        <fieldset class="presets">
          <legend class="visually-hidden">Quick ranges</legend>
          {[7, 30].map((days) => (
            <button
              key={days}
              type="button"
              class="button button-small"
              onClick={() => setRange(lastDays(days))}
            >
              Last {days} days
            </button>
          ))}
        </fieldset>
      </form>
      <p class="hint">Days and hours are UTC, as the Usage and Costs APIs count them: a day picked runs from 00:00 to 24:00 UTC.</p>

      {rangeError && (
        <p class="alert" role="alert">
          {rangeError}
        </p>
      )}
      <LoadError error={usage.error} retry={usage.reload} what="usage" />
      <LoadError error={costs.error} retry={costs.reload} what="costs" />

      <div class="stats" aria-live="polite">
        <Stat label="Answered requests" value={stat(usage, totals?.requests, formatNumber)} testId="answered" />
        <Stat label="Refused requests" value={stat(usage, totals?.refused, formatNumber)} testId="refused" />
        <Stat label="Embeddings requests" value={stat(usage, totals?.embeddings, formatNumber)} testId="embeddings" />
        <Stat label="Input tokens" value={stat(usage, totals?.inputTokens, formatNumber)} testId="input-tokens" />
        <Stat label="Output tokens" value={stat(usage, totals?.outputTokens, formatNumber)} testId="output-tokens" />
        <Stat label="Cost" value={stat(costs, totalCost, formatUsd)} testId="cost" />
      </div>

      <LoadError error={budgets.error} retry={budgets.reload} what="budgets" />
      {budgets.data && budgets.data.length > 0 && (
        <section class="card" aria-labelledby="budget-title">
          <h2 id="budget-title">Spend against budget</h2>
          <div class="standings">
            {budgets.data.map((s) => (
              <StandingMeter key={`${s.scope}:${s.id}`} s={s} name={standingName(s)} />
            ))}
          </div>
        </section>
      )}

      {series?.groups.some((g) => g.total > 0) ? (
        <section class="card" aria-labelledby="chart-title">
          <h2 id="chart-title">
            {METRIC_LABEL[metric]} by {GROUP_WORD[groupBy]}
          </h2>
          <StackedChart
            series={series}
            labelOf={labelOf}
            formatValue={formatValue}
            hourly={hourly}
            integers={metric !== 'cost'}
            title={`${METRIC_LABEL[metric]} per ${hourly ? 'hour' : 'day'}, by ${GROUP_WORD[groupBy]}`}
          />
          {width === '1h' && metric === 'cost' && <p class="muted">Cost is shown per day: the Costs API counts it by day.</p>}
          <table class="table compact">
            <caption class="visually-hidden">Totals by {GROUP_WORD[groupBy]}</caption>
            <thead>
              <tr>
                <th scope="col">{GROUP_LABEL[groupBy]}</th>
                <th scope="col" class="num">
                  {METRIC_LABEL[metric]}
                </th>
              </tr>
            </thead>
            <tbody>
              {series.groups
                .filter((g) => g.total > 0)
                .map((g) => {
                  const keyProject = groupBy === 'api_key_id' ? names.data?.get(g.key)?.project_id : null;
                  return (
                    <tr key={g.key}>
                      <td data-label={GROUP_LABEL[groupBy]} class="break">
                        {keyProject ? <a href={keyHref(keyProject, g.key)}>{labelOf(g.key)}</a> : labelOf(g.key)}
                      </td>
                      <td data-label={METRIC_LABEL[metric]} class="num">
                        {formatValue(g.total)}
                      </td>
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </section>
      ) : (
        shownData &&
        !rangeError && (
          <div class="empty">
            <h2>No {METRIC_LABEL[metric].toLowerCase()} in this period</h2>
            <p>Pick another date range or filter, or make a request with one of your keys.</p>
          </div>
        )
      )}

      <section class="card" aria-labelledby="refused-title">
        <h2 id="refused-title">Refused requests by reason</h2>
        <LoadError error={refusals.error} retry={refusals.reload} what="refusals" />
        {refusals.data && <RefusalTable report={refusals.data} caption="Refused requests by reason" />}
        {!refusals.data && !refusals.error && !rangeError && <p class="muted">Loading…</p>}
      </section>
    </>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div class="stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
    </div>
  );
}
