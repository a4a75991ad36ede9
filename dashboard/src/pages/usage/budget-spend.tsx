import { api, isMissingEndpoint } from '../../api.js';
import { projectPath } from '../../api-lists.js';
import { formatUsd } from '../../format.js';
import { useSession } from '../../session.js';
import { useResource } from '../../use-resource.js';
import { fetchBuckets } from './usage-api.js';
import type { CostResult } from './usage-types.js';

interface SpendLimit {
  threshold_amount: number | null;
  interval: string;
  enforcement: { status: string };
}

interface Row {
  projectId: string;
  name: string;
  spentUsd: number;
  limitUsd: number;
  interval: string;
  enforced: boolean;
}

const DAY = 86_400;

/** Start (unix seconds, UTC) of the current day, week (Monday), month, or null for other intervals. */
export function periodStartOf(interval: string, nowSec: number): number | null {
  const d = new Date(nowSec * 1000);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) / 1000;
  if (interval === 'day') return day;
  if (interval === 'week') return day - ((d.getUTCDay() + 6) % 7) * DAY;
  if (interval === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  return null;
}

/** Spend against budget: each project with a spend limit, what it spent in the current period, and the share used. */
export function BudgetSpend() {
  const { projects } = useSession();
  const rows = useResource<Row[]>(async () => {
    const now = Math.floor(Date.now() / 1000);
    const limits = await Promise.all(
      projects.map(async (p) => ({ p, limit: await api<SpendLimit>('GET', projectPath(p.id, '/spend_limit')).catch(() => null) })),
    );
    const withLimit = limits.filter((l) => l.limit?.threshold_amount && periodStartOf(l.limit.interval, now) !== null);
    if (withLimit.length === 0) return [];
    const earliest = Math.min(...withLimit.map((l) => periodStartOf((l.limit as SpendLimit).interval, now) as number));
    const buckets = await fetchBuckets<CostResult>('/v1/organization/costs', { start_time: earliest, end_time: now + DAY, bucket_width: '1d', group_by: 'project_id' });
    return withLimit.map(({ p, limit }) => {
      const l = limit as SpendLimit;
      const from = periodStartOf(l.interval, now) as number;
      let spent = 0;
      for (const b of buckets) if (b.start_time >= from) for (const r of b.results) if (r.project_id === p.id) spent += r.amount.value;
      return { projectId: p.id, name: p.name, spentUsd: spent, limitUsd: (l.threshold_amount as number) / 100, interval: l.interval, enforced: l.enforcement.status === 'enabled' };
    });
  }, [projects]);

  if (isMissingEndpoint(rows.error) || !rows.data || rows.data.length === 0) return null;
  return (
    <section class="card" aria-labelledby="budget-spend-title">
      <h2 id="budget-spend-title">Spend against budget</h2>
      <table class="table compact">
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col">Spent this {`${rows.data.length === 1 ? rows.data[0].interval : 'period'}`}</th>
            <th scope="col">Budget</th>
            <th scope="col">Used</th>
          </tr>
        </thead>
        <tbody>
          {rows.data.map((r) => {
            const pct = r.limitUsd > 0 ? Math.min(100, (r.spentUsd / r.limitUsd) * 100) : 0;
            return (
              <tr key={r.projectId}>
                <th scope="row">{r.name}</th>
                <td>{formatUsd(r.spentUsd)}</td>
                <td>
                  {formatUsd(r.limitUsd)} / {r.interval}
                  {r.enforced ? '' : ' (alert only)'}
                </td>
                <td>
                  <progress max={100} value={pct} aria-label={`${r.name}: ${pct.toFixed(0)} % of budget used`} /> {pct.toFixed(0)} %
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
