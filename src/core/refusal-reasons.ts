// Why the gateway refused a request, in the few words a dashboard shows: each refusal's error code (the catalogue's,
// as usage events record it) falls under one reason.

export const REFUSAL_REASONS = {
  rate_limit: 'Rate limit',
  budget: 'Spend limit',
  quota: 'Request quota',
  scope: 'Permissions or model allowlist',
  ip: 'IP allowlist',
  unmetered: 'Cannot be metered under a spend limit',
  invalid_request: 'Invalid request',
  other: 'Other',
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

const BY_CODE: Readonly<Record<string, RefusalReason>> = {
  rate_limit_exceeded: 'rate_limit',
  api_key_spend_limit_exceeded: 'budget',
  project_spend_limit_exceeded: 'budget',
  organization_spend_limit_exceeded: 'budget',
  api_key_quota_exceeded: 'quota',
  insufficient_permissions: 'scope',
  ip_not_allowed: 'ip',
  model_not_priced: 'unmetered',
  endpoint_not_metered: 'unmetered',
  invalid_value: 'invalid_request',
  invalid_type: 'invalid_request',
  invalid_json: 'invalid_request',
  unknown_parameter: 'invalid_request',
  missing_required_parameter: 'invalid_request',
  empty_array: 'invalid_request',
  unsupported_media_type: 'invalid_request',
};

/** The reason of a refusal's error code; codes of no listed reason (unknown model, another project's object) are 'other'. */
export function refusalReason(code: string | null): RefusalReason {
  return (code && BY_CODE[code]) || 'other';
}

/** The error codes of a budget's refusal, by the scope of the budget. */
export const BUDGET_REFUSAL_CODES = {
  api_key: 'api_key_spend_limit_exceeded',
  project: 'project_spend_limit_exceeded',
  organization: 'organization_spend_limit_exceeded',
} as const;
