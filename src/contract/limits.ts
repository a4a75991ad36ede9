import type { Interval } from '../core/periods.js';
import type { RateLimitField } from '../core/project-rate-limits.js';

// A project's rate limits, spend limits and spend alerts as the admin API answers them.

// Rate limits (services/rate-limits.ts builds them).

export type RateLimitObject = {
  object: 'project.rate_limit';
  id: string;
  /** '*' for the limit that applies to every model of the project. */
  model: string;
  max_requests_per_1_minute: number;
  max_tokens_per_1_minute: number;
} & Partial<Record<Exclude<RateLimitField, 'max_requests_per_1_minute' | 'max_tokens_per_1_minute'>, number>>;

// Spend limits of a project and of the organization (services/spend-limits.ts builds them).

/** A spend limit's terms: an amount in cents per interval; `enforcing` refuses requests over it, `inactive` only watches it. */
export interface SpendLimitTerms {
  threshold_amount: number;
  currency: 'USD';
  interval: Interval;
  enforcement: { status: 'enforcing' | 'inactive' };
  updated_at: number;
}

export interface ProjectSpendLimitObject extends SpendLimitTerms {
  object: 'project.spend_limit';
  project_id: string;
}

export interface OrganizationSpendLimitObject extends SpendLimitTerms {
  object: 'organization.spend_limit';
  organization_id: string;
}

export interface ProjectSpendLimitDeleted {
  object: 'project.spend_limit.deleted';
  project_id: string;
  deleted: true;
}

export interface OrganizationSpendLimitDeleted {
  object: 'organization.spend_limit.deleted';
  organization_id: string;
  deleted: true;
}

// Spend alerts of a project and of the organization (services/spend-alerts.ts builds them).

/** What a spend alert tells and to whom: an amount in cents of the calendar month's spend (UTC). */
interface SpendAlertTerms {
  id: string;
  threshold_amount: number;
  currency: 'USD';
  interval: 'month';
  notification_channel: { type: 'email'; recipients: string[]; subject_prefix: string | null };
  created_at: number;
  updated_at: number;
}

export interface ProjectSpendAlertObject extends SpendAlertTerms {
  object: 'project.spend_alert';
  project_id: string;
}

export interface OrganizationSpendAlertObject extends SpendAlertTerms {
  object: 'organization.spend_alert';
}

export type SpendAlertObject = ProjectSpendAlertObject | OrganizationSpendAlertObject;

export interface SpendAlertDeleted {
  id: string;
  object: 'project.spend_alert.deleted' | 'organization.spend_alert.deleted';
  deleted: true;
}
