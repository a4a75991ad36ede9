import { useCallback, useId, useMemo, useState } from 'preact/hooks';
import { errorMessage, isMissingEndpoint } from '../../api.js';
import { Alert } from '../../components/alert.js';
import { formatNumber, formatUsd, fromDateInput, toDateInput } from '../../format.js';
import { useSession } from '../../session.js';
import { listAll, projectPath, WITH_REVOKED } from '../../api-lists.js';
import type { ProjectApiKey } from '../../types.js';
import { useResource } from '../../use-resource.js';
import { BudgetSpend } from './budget-spend.js';
import { downloadText } from './download.js';
import { StackedChart } from './stacked-chart.js';
import { fetchBuckets } from './usage-api.js';
import { costCsv, costTotal, stackByGroup, usageCsv, usageTotals } from './usage-data.js';
import type { Bucket, CostResult, UsageResult } from './usage-types.js';

type Metric = 'requests' | 'tokens' | 'cost';
type GroupBy = 'model' | 'project_id' | 'api_key_id';
type Width = '1d' | '1h';

const DAY = 86_400;

function defaultRange(): { start: string; end: string } {
  const today = fromDateInput(toDateInput(Date.now() / 1000));
  return { start: toDateInput(today - 6 * DAY), end: toDateInput(today) };
}

interface UsageData {
  usage: Array<Bucket<UsageResult>>;
  costs: Array<Bucket<CostResult>> | null;
}

/** Usage: requests, tokens and cost over time, stacked by model, project or key, with totals and CSV export. */
export function UsagePage() {
  const { projects } = useSession();
  const [range, setRange] = useState(defaultRange);
  const [width, setWidth] = useState<Width>('1d');
  const [metric, setMetric] = useState<Metric>('requests');
  const [groupBy, setGroupBy] = useState<GroupBy>('model');
  const ids = { start: useId(), end: useId(), width: useId(), metric: useId(), group: useId() };

  const startTime = fromDateInput(range.start);
  const endTime = fromDateInput(range.end) + DAY;
  const rangeError = !range.start || !range.end || endTime <= startTime ? 'The start date must be on or before the end date.' : null;
  // Costs come in daily buckets and split by project or line item (OpenAI's Costs API); models are line items.
  const costGroup = groupBy === 'project_id' ? 'project_id' : groupBy === 'model' ? 'line_item' : undefined;

  const data = useResource<UsageData>(async () => {
    if (rangeError) return { usage: [], costs: null };
    const query = { start_time: startTime, end_time: endTime, bucket_width: width, group_by: groupBy };
    const usage = await fetchBuckets<UsageResult>('/v1/organization/usage/completions', query);
    const costs = await fetchBuckets<CostResult>('/v1/organization/costs', {
      start_time: startTime,
      end_time: endTime,
      bucket_width: '1d',
      group_by: costGroup,
    }).catch((err: unknown) => {
      if (isMissingEndpoint(err)) return null;
      throw err;
    });
    return { usage, costs };
  }, [startTime, endTime, width, groupBy, costGroup, rangeError]);

  const projectName = useMemo(() => new Map(projects.map((p) => [p.id, p.name])), [projects]);
  // Key names for the legend, read only when grouping by key (one list call per project).
  const keyNames = useResource(async () => {
    if (groupBy !== 'api_key_id') return new Map<string, string>();
    const lists = await Promise.all(projects.map((p) => listAll<ProjectApiKey>(projectPath(p.id, '/api_keys'), WITH_REVOKED).catch(() => [])));
    return new Map(lists.flat().map((k) => [k.id, `${k.name} (${k.redacted_value})`]));
  }, [groupBy, projects]);
  const labelOf = useCallback(
    (key: string) => {
      if (key === 'Other' || key === '(none)') return key;
      if (groupBy === 'project_id') return projectName.get(key) ?? key;
      if (groupBy === 'api_key_id') return keyNames.data?.get(key) ?? key;
      return key;
    },
    [groupBy, projectName, keyNames.data],
  );
  const usageHasCost = !!data.data?.usage.some((b) => b.results.some((r) => typeof r.cost_usd === 'number'));

  const series = useMemo(() => {
    if (!data.data) return null;
    if (metric === 'cost') {
      // Costs cannot be split by key; usage results carry Tollgate's cost_usd, which can.
      if (groupBy === 'api_key_id' && usageHasCost) {
        return stackByGroup(
          data.data.usage,
          (r) => r.api_key_id ?? '(none)',
          (r) => r.cost_usd ?? 0,
        );
      }
      if (!data.data.costs) return null;
      const field = costGroup ?? null;
      return stackByGroup(
        data.data.costs,
        (r) => (field ? (r[field] ?? '(none)') : 'Total'),
        (r) => Number(r.amount?.value ?? 0),
      );
    }
    return stackByGroup(
      data.data.usage,
      (r) => r[groupBy] ?? '(none)',
      (r) => (metric === 'requests' ? r.num_model_requests : r.input_tokens + r.output_tokens),
    );
  }, [data.data, metric, groupBy, costGroup, usageHasCost]);

  const formatValue = useCallback((v: number) => (metric === 'cost' ? formatUsd(v) : formatNumber(Math.round(v))), [metric]);
  const totals = data.data ? usageTotals(data.data.usage) : null;
  const cost = data.data?.costs ? costTotal(data.data.costs) : null;
  const missing = isMissingEndpoint(data.error);
  const exportCsv = () => {
    if (!data.data) return;
    const name = `tollgate-${metric === 'cost' ? 'costs' : 'usage'}-${range.start}-to-${range.end}.csv`;
    downloadText(name, metric === 'cost' && data.data.costs ? costCsv(data.data.costs) : usageCsv(data.data.usage));
  };

  return (
    <>
      <div class="page-head">
        <div>
          <h1>Usage</h1>
          <p class="lede">Requests, tokens and cost of the calls made through Tollgate with your organization's keys.</p>
        </div>
        <div class="page-tools">
          <button type="button" class="button" onClick={exportCsv} disabled={!data.data || data.data.usage.length === 0}>
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
          <label for={ids.metric}>Show</label>
          <select id={ids.metric} class="input" value={metric} onChange={(e) => setMetric(e.currentTarget.value as Metric)}>
            <option value="requests">Requests</option>
            <option value="tokens">Tokens</option>
            <option value="cost">Cost</option>
          </select>
        </div>
        <div class="field">
          <label for={ids.group}>Group by</label>
          <select id={ids.group} class="input" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as GroupBy)}>
            <option value="model">Model</option>
            <option value="project_id">Project</option>
            <option value="api_key_id">API key</option>
          </select>
        </div>
        <div class="field">
          <label for={ids.width}>Per</label>
          <select id={ids.width} class="input" value={width} onChange={(e) => setWidth(e.currentTarget.value as Width)}>
            <option value="1d">Day</option>
            <option value="1h" disabled={metric === 'cost'}>
              Hour
            </option>
          </select>
        </div>
        <fieldset class="presets">
          <legend class="visually-hidden">Quick ranges</legend>
          {[7, 30].map((days) => (
            <button
              key={days}
              type="button"
              class="button button-small"
              onClick={() => {
                const today = fromDateInput(toDateInput(Date.now() / 1000));
                setRange({ start: toDateInput(today - (days - 1) * DAY), end: toDateInput(today) });
              }}
            >
              Last {days} days
            </button>
          ))}
        </fieldset>
      </form>

      <Alert message={rangeError ?? (data.error && !missing ? errorMessage(data.error) : null)} />

      {missing ? (
        <div class="empty">
          <h2>Usage will appear here</h2>
          <p>
            Once applications call the API through Tollgate, their requests, tokens and costs show up on this page. This server does not report
            usage yet.
          </p>
        </div>
      ) : (
        <>
          <div class="stats" aria-live="polite">
            <Stat label="Requests" value={totals ? formatNumber(totals.requests) : '…'} />
            <Stat label="Input tokens" value={totals ? formatNumber(totals.inputTokens) : '…'} />
            <Stat label="Output tokens" value={totals ? formatNumber(totals.outputTokens) : '…'} />
            <Stat label="Cost" value={cost === null ? (data.loading ? '…' : 'n/a') : formatUsd(cost)} />
          </div>
          <BudgetSpend />
          {metric === 'cost' && data.data && !data.data.costs && <p class="notice-inline">This server does not report costs yet.</p>}
          {metric === 'cost' && groupBy === 'api_key_id' && !usageHasCost && <p class="notice-inline">Costs cannot be split by key; showing the total.</p>}
          {series && series.groups.length > 0 ? (
            <section class="card" aria-label="Chart">
              <StackedChart
                series={series}
                labelOf={labelOf}
                formatValue={formatValue}
                hourly={width === '1h'}
                integers={metric !== 'cost'}
                title={`${metric} per ${width === '1d' ? 'day' : 'hour'}, by ${groupBy}`}
              />
              <table class="table compact">
                <caption class="visually-hidden">Totals by group</caption>
                <thead>
                  <tr>
                    <th scope="col">{groupBy === 'model' ? 'Model' : groupBy === 'project_id' ? 'Project' : 'API key'}</th>
                    <th scope="col" class="num">
                      {metric === 'cost' ? 'Cost' : metric === 'tokens' ? 'Tokens' : 'Requests'}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {series.groups.map((g) => (
                    <tr key={g.key}>
                      <td data-label="Group">{labelOf(g.key)}</td>
                      <td data-label="Total" class="num">
                        {formatValue(g.total)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ) : (
            !data.loading &&
            !data.error && (
              <div class="empty">
                <h2>No usage in this period</h2>
                <p>Pick another date range, or make a request with one of your keys.</p>
              </div>
            )
          )}
        </>
      )}
    </>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
    </div>
  );
}
