import type { KeyFields } from '../../api-client.js';
import { typedCents } from '../../dollars.js';
import type { Interval, Permissions, ProjectApiKey } from '../../types.js';
import { typedWholeNumber } from '../../whole-numbers.js';

// Conversions between the key dialogs' text fields and the API's values: everything the API takes for a key.

export type ExpiryChoice = 'keep' | 'never' | '7' | '30' | '90' | 'custom';

/** Unix seconds for an expiry choice; a custom date expires at the end of that local day. Undefined: leave as it is. */
export function expiresAtFor(choice: ExpiryChoice, customDate: string, nowMs = Date.now()): number | null | undefined {
  if (choice === 'keep') return undefined;
  if (choice === 'never') return null;
  if (choice === 'custom') {
    if (!customDate) return undefined;
    const [y, m, d] = customDate.split('-').map(Number);
    return Math.floor(new Date(y, m - 1, d, 23, 59, 59).getTime() / 1000);
  }
  return Math.floor(nowMs / 1000) + Number(choice) * 86_400;
}

/** Items of a free-text list (commas, spaces or new lines); null when empty (no allowlist). */
export function parseList(text: string): string[] | null {
  const items = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? [...new Set(items)] : null;
}

/** IPs and CIDR ranges from free text; null when empty. */
export const parseIpList = parseList;

export interface KeyDraft {
  name: string;
  permissions: Permissions;
  expiry: ExpiryChoice;
  customDate: string;
  ips: string;
  models: string;
  rpm: string;
  tpm: string;
  rpd: string;
  /** Dollars. */
  spend: string;
  spendInterval: Interval;
  quota: string;
  quotaInterval: 'day' | 'month' | 'total';
}

export const EMPTY_DRAFT: KeyDraft = {
  name: '',
  permissions: 'all',
  expiry: 'never',
  customDate: '',
  ips: '',
  models: '',
  rpm: '',
  tpm: '',
  rpd: '',
  spend: '',
  spendInterval: 'month',
  quota: '',
  quotaInterval: 'month',
};

const text = (n: number | null | undefined) => (n ? String(n) : '');

/** The draft of an existing key (the edit dialog), its expiry kept unless changed. */
export function draftOf(key: ProjectApiKey): KeyDraft {
  return {
    name: key.name,
    permissions: key.permissions,
    expiry: 'keep',
    customDate: '',
    ips: (key.allowed_ips ?? []).join(', '),
    models: (key.allowed_models ?? []).join(', '),
    rpm: text(key.rate_limits?.max_requests_per_1_minute),
    tpm: text(key.rate_limits?.max_tokens_per_1_minute),
    rpd: text(key.rate_limits?.max_requests_per_1_day),
    spend: key.spend_limit ? (key.spend_limit.threshold_amount / 100).toFixed(2) : '',
    spendInterval: key.spend_limit?.interval ?? 'month',
    quota: text(key.request_quota?.max_requests),
    quotaInterval: key.request_quota?.interval ?? 'total',
  };
}

/** Whether any allowlist or limit is filled in (the dialogs open that section then). */
export function hasRestrictions(d: KeyDraft): boolean {
  return !!(d.ips.trim() || d.models.trim() || d.rpm || d.tpm || d.rpd || d.spend || d.quota);
}

export type DraftResult = { ok: true; body: KeyFields } | { ok: false; message: string; field: string };

/** A limit or quota field: null when empty, else a whole number from 1 to 10^12 (typedWholeNumber), or the problem. */
function whole(label: string, value: string, field: string): number | null | { message: string; field: string } {
  const read = typedWholeNumber(value);
  if (read.ok && (read.value === null || (read.value > 0 && read.value <= 1e12))) return read.value;
  return { message: `${label} must be a whole number above zero, or empty for none.`, field };
}

const isProblem = (v: unknown): v is { message: string; field: string } => typeof v === 'object' && v !== null;

/** The API body of a draft, or the first problem with it (named by its field). */
export function bodyOf(d: KeyDraft, nowMs = Date.now()): DraftResult {
  const body: KeyFields = { permissions: d.permissions };
  if (d.name.trim()) body.name = d.name.trim();
  if (d.expiry === 'custom' && !d.customDate) return { ok: false, message: 'Choose the date the key expires.', field: 'date' };
  const expires = expiresAtFor(d.expiry, d.customDate, nowMs);
  if (expires !== undefined) {
    if (expires !== null && expires * 1000 <= nowMs) return { ok: false, message: 'The expiry date must be in the future.', field: 'date' };
    body.expires_at = expires;
  }
  body.allowed_ips = parseList(d.ips);
  body.allowed_models = parseList(d.models);
  const rpm = whole('Requests per minute', d.rpm, 'rpm');
  const tpm = whole('Tokens per minute', d.tpm, 'tpm');
  const rpd = whole('Requests per day', d.rpd, 'rpd');
  const quota = whole('The request quota', d.quota, 'quota');
  for (const v of [rpm, tpm, rpd, quota]) if (isProblem(v)) return { ok: false, ...v };
  body.rate_limits = rpm || tpm || rpd ? { max_requests_per_1_minute: rpm as number | null, max_tokens_per_1_minute: tpm as number | null, max_requests_per_1_day: rpd as number | null } : null;
  const spend = typedCents(d.spend);
  if (spend.ok && spend.cents === null) body.spend_limit = null;
  else {
    if (!spend.ok && spend.problem === 'decimals') return { ok: false, message: 'The spend limit has at most two decimals (whole cents), such as 9.50.', field: 'spend' };
    if (!spend.ok || !spend.cents) return { ok: false, message: 'The spend limit is an amount in dollars above zero, such as 25 or 9.50; empty for none.', field: 'spend' };
    body.spend_limit = { threshold_amount: spend.cents, interval: d.spendInterval };
  }
  body.request_quota = quota ? { max_requests: quota as number, interval: d.quotaInterval } : null;
  return { ok: true, body };
}

/** JSON with object keys sorted, so that two equal values compare equal whatever order their keys were set in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/**
 * The fields of `next` whose values differ from `initial`: what an edit sends. A field the user left alone is not
 * sent, so a change someone else saved while the dialog was open stays (sending the whole form reverted it).
 */
export function changedFields(initial: KeyFields, next: KeyFields): KeyFields {
  const changed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(next)) {
    if (canonical(value) !== canonical(initial[field as keyof KeyFields])) changed[field] = value;
  }
  return changed as KeyFields;
}
