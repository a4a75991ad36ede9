import { formatDateTime, formatNumber, formatUsd, intervalLabel } from '../format.js';
import type { Standing } from '../types.js';

/** "Resets Mar 5, 2026, 01:00" or "Never resets" (a total). */
export function resetLabel(s: Standing): string {
  if (s.resets_at === null) return 'Never resets';
  return `${/^rolling_/.test(s.interval) ? 'Frees up from' : 'Resets'} ${formatDateTime(s.resets_at)}`;
}

/**
 * One budget or quota: what was used of it this period, and its state in words — blocked (refusing requests, with
 * when that ends), alert only, or how much is used. The bar is decorative: the text says the same.
 */
export function StandingMeter({ s, name }: { s: Standing; name: string }) {
  const pct = s.limit > 0 ? Math.min(100, (s.used / s.limit) * 100) : 0;
  const amount = (v: number) => (s.kind === 'spend' ? formatUsd(v) : formatNumber(v));
  const state = s.blocked ? 'blocked' : !s.enforced ? 'alert-only' : pct >= 80 ? 'near' : 'ok';
  return (
    <div class={`standing standing-${state}`} data-state={state}>
      <div class="standing-head">
        <span class="standing-name">{name}</span>
        <span class="standing-amounts">
          {amount(s.used)} of {amount(s.limit)} {s.kind === 'quota' ? 'requests ' : ''}
          {intervalLabel(s.interval)} ({pct.toFixed(0)} %)
        </span>
      </div>
      <div class="meter" aria-hidden="true">
        <div class="meter-fill" style={{ width: `${pct}%` }} />
      </div>
      <p class="standing-state">
        {s.blocked ? (
          <>
            <strong>Blocked:</strong> requests are refused
            {s.refused > 0 ? ` (${formatNumber(s.refused)} so far${s.last_refused_at ? `, last at ${formatDateTime(s.last_refused_at)}` : ''})` : ''}.{' '}
            {s.resets_at ? `${resetLabel(s)}.` : 'It never resets: raise the limit to unblock.'}
          </>
        ) : !s.enforced ? (
          <>Alert only: requests go on past the limit. {resetLabel(s)}.</>
        ) : (
          <>
            {amount(Math.max(0, s.limit - s.used))} left. {resetLabel(s)}.
          </>
        )}
      </p>
    </div>
  );
}
