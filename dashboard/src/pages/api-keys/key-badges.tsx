import { expiryLabel, formatCents, formatDateTime, formatNumber, intervalLabel } from '../../format.js';
import type { ProjectApiKey } from '../../types.js';

/** A short description of a key's rate limits ("60 RPM, 10,000 TPM"). */
export function describeRateLimits(r: ProjectApiKey['rate_limits']): string | null {
  if (!r) return null;
  const parts = [
    r.max_requests_per_1_minute ? `${formatNumber(r.max_requests_per_1_minute)} requests/min` : null,
    r.max_tokens_per_1_minute ? `${formatNumber(r.max_tokens_per_1_minute)} tokens/min` : null,
    r.max_requests_per_1_day ? `${formatNumber(r.max_requests_per_1_day)} requests/day` : null,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}

interface KeyBadgesProps {
  apiKey: ProjectApiKey;
  nowSec: number;
  /** Offered to people who may change the key, while a rotation's grace runs. */
  onEndGrace?: () => void;
}

/**
 * What a key's row otherwise hides: expiry, allowlists, limits, budget and a rotation's grace period. Each badge
 * says in words what it means (its title adds the detail), so colour is never the only signal.
 */
export function KeyBadges({ apiKey: k, nowSec, onEndGrace }: KeyBadgesProps) {
  const live = k.status === 'active';
  const expiry = live && k.expires_at ? expiryLabel(k.expires_at, nowSec) : null;
  const rate = describeRateLimits(k.rate_limits);
  const grace = live && k.previous_secret_expires_at && k.previous_secret_expires_at > nowSec ? k.previous_secret_expires_at : null;
  const items = [
    expiry && (
      <li key="expiry" class={expiry.soon ? 'chip chip-warn' : 'chip'} title={`Expires ${formatDateTime(k.expires_at)}`}>
        {expiry.text}
      </li>
    ),
    k.allowed_ips?.length ? (
      <li key="ip" class="chip" title={`Allowed addresses: ${k.allowed_ips.join(', ')}`}>
        IP-restricted
      </li>
    ) : null,
    k.allowed_models?.length ? (
      <li key="models" class="chip" title={`Allowed models: ${k.allowed_models.join(', ')}`}>
        Model-restricted
      </li>
    ) : null,
    rate ? (
      <li key="rate" class="chip" title={rate}>
        Rate-limited
      </li>
    ) : null,
    k.spend_limit ? (
      <li key="budget" class="chip" title="Spend limit of this key">
        Budget {formatCents(k.spend_limit.threshold_amount)} {intervalLabel(k.spend_limit.interval)}
      </li>
    ) : null,
    k.request_quota ? (
      <li key="quota" class="chip" title="Request quota of this key">
        Quota {formatNumber(k.request_quota.max_requests)} requests {intervalLabel(k.request_quota.interval ?? 'total')}
      </li>
    ) : null,
    grace ? (
      <li key="grace" class="chip chip-warn chip-grace">
        <span>Previous secret valid until {formatDateTime(grace)}</span>
        {onEndGrace && (
          <button type="button" class="link-button" onClick={onEndGrace} aria-label={`End grace now for ${k.name}`}>
            End grace now
          </button>
        )}
      </li>
    ) : null,
  ].filter(Boolean);
  if (items.length === 0) return null;
  return (
    <ul class="chips" aria-label="Key details">
      {items}
    </ul>
  );
}
