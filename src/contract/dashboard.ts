import type { Interval } from '../core/periods.js';
import type { RefusalReason } from '../core/refusal-reasons.js';

// The dashboard's own reads (/auth/dashboard/…; services/dashboard-keys.ts, services/budget-standing.ts and
// services/refusal-counts.ts build them). The key search's page is api-keys.ts's KeySearchPage.

/** What an id names, for labels: keys, users, service accounts and projects of the organization. */
export interface NamedObject {
  id: string;
  object: 'api_key' | 'admin_api_key' | 'user' | 'service_account' | 'project';
  name: string;
  /** A key's redacted value, a user's email. */
  detail: string | null;
  project_id: string | null;
}

/** Where a spend limit or request quota stands in its period (GET /auth/dashboard/budgets). */
export interface Standing {
  kind: 'spend' | 'quota';
  scope: 'api_key' | 'project' | 'organization';
  /** The key, project or organization id. */
  id: string;
  project_id: string | null;
  interval: Interval;
  /** Unix seconds. */
  period_start: number;
  /** When the period starts over (a rolling window: when its oldest day leaves it); null for `total`. */
  resets_at: number | null;
  /** Spend limits: USD. Quotas: requests. */
  limit: number;
  used: number;
  /** A spend limit set to alert only does not block. */
  enforced: boolean;
  blocked: boolean;
  /** Requests this limit refused in the period, since it was last set. */
  refused: number;
  last_refused_at: number | null;
}

/** Refused requests of one error code. */
export interface RefusalCount {
  error_code: string | null;
  reason: RefusalReason;
  count: number;
  /** The latest refusal of this code in the range (unix seconds). */
  last_at: number;
}

/** GET /auth/dashboard/refusals: refused requests by reason, most frequent first. */
export interface RefusalReport {
  object: 'list';
  data: RefusalCount[];
  total: number;
  start_time: number;
  end_time: number;
}
