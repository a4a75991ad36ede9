import { REFUSAL_REASONS, type RefusalReason } from '../../../../src/core/refusal-reasons.js';
import { formatDateTime, formatNumber } from '../../format.js';
import type { RefusalReport } from '../../types.js';

/** The words for a refusal reason (the server's catalogue, src/core/refusal-reasons.ts). */
export function reasonLabel(reason: string): string {
  return REFUSAL_REASONS[reason as RefusalReason] ?? reason;
}

/** Refused requests by reason, with the error codes behind each and when the last one was. */
export function RefusalTable({ report, caption }: { report: RefusalReport; caption: string }) {
  if (report.total === 0) return <p class="muted">No refused requests in this period.</p>;
  const byReason = new Map<string, { count: number; codes: string[]; last: number }>();
  for (const r of report.data) {
    const row = byReason.get(r.reason) ?? { count: 0, codes: [], last: 0 };
    row.count += r.count;
    row.codes.push(r.error_code ?? 'unknown');
    row.last = Math.max(row.last, r.last_at);
    byReason.set(r.reason, row);
  }
  const rows = [...byReason.entries()].sort((a, b) => b[1].count - a[1].count);
  return (
    <table class="table compact refusals">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Reason</th>
          <th scope="col">Error codes</th>
          <th scope="col" class="num">
            Refused
          </th>
          <th scope="col">Last</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([reason, v]) => (
          <tr key={reason} data-reason={reason}>
            <th scope="row" data-label="Reason">
              {reasonLabel(reason)}
            </th>
            <td data-label="Error codes" class="mono break">
              {v.codes.join(', ')}
            </td>
            <td data-label="Refused" class="num">
              {formatNumber(v.count)}
            </td>
            <td data-label="Last">{formatDateTime(v.last)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
