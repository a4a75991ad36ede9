import { AUDIT_EVENTS, type AuditEventType } from '../../../../src/core/audit-events.js';
import { formatDateTime, formatUsd } from '../../format.js';
import type { AuditLog } from '../../types.js';

// Audit entries in words: the event's label (the server's catalogue), the ids it names, and what happened beyond its type.

/** A detail as text ('' for anything but a string or number). */
export const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

export type Details = Record<string, unknown> & { id?: string | null; data?: Record<string, unknown>; changes_requested?: Record<string, unknown> };

/** The entry's details (under a member named after its type). */
export const detailsOf = (e: AuditLog): Details => (e[e.type] as Details | undefined) ?? {};

/** The words for an event type (the server's catalogue, src/core/audit-events.ts). */
export function eventLabel(type: string): string {
  return AUDIT_EVENTS[type as AuditEventType] ?? type;
}

/** Ids an entry names (its subject, the key or user who acted), for looking their names up. */
export function idsOf(e: AuditLog): string[] {
  const d = detailsOf(e);
  const out = [d.id, e.actor?.api_key?.id, e.actor?.session?.user.id, (d.data?.owner as { id?: string } | undefined)?.id];
  return out.filter((x): x is string => typeof x === 'string' && x.length > 0);
}


/** What happened beyond the type: which threshold was crossed, what changed, why it was refused. */
export function summary(e: AuditLog): string {
  const d = detailsOf(e);
  switch (e.type) {
    case 'budget.threshold_crossed': {
      const scope = d.scope === 'api_key' ? "a key's" : d.scope === 'organization' ? "the organization's" : "the project's";
      const spent = `${formatUsd(Number(d.spent_usd ?? 0))} spent`;
      // A spend alert is an amount of its own; a key's budget tells at a percent of its limit.
      if (d.spend_alert_id) return `Spend alert at ${formatUsd(Number(d.threshold_usd ?? 0))} of ${scope} spend this month (${str(d.period)}): ${spent}`;
      return `${str(d.threshold_percent)} % of ${scope} spend limit of ${formatUsd(Number(d.limit_usd ?? 0))} (period ${str(d.period)}): ${spent}`;
    }
    case 'api_key.rotated':
      return d.previous_secret_expires_at ? `Previous secret valid until ${formatDateTime(Number(d.previous_secret_expires_at))}` : '';
    case 'api_key.grace_ended':
      return 'Previous secret stopped working';
    case 'api_key.exposed':
      return d.url ? `Found at ${str(d.url)}` : 'Reported exposed';
    case 'api_key.anomaly':
    case 'api_key.suspended':
      return str(d.kind ?? d.reason);
    case 'admin_api_key.used':
      return `${str(d.method)} ${str(d.path)}`;
    case 'login.failed':
    case 'signup.failed':
      return [str(d.email), str(d.error_code)].filter(Boolean).join(' · ');
    case 'login.locked':
      return `${str(d.reason)} locked for ${str(d.retry_after_seconds)} s (${str(d.scope)})`;
    default:
      if (d.changes_requested) return `Changed: ${Object.keys(d.changes_requested).join(', ')}`;
      if (d.data?.role) return `Role: ${str(d.data.role)}`;
      return '';
  }
}
