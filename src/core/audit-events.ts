// The closed catalogue of audit event types: every `type` an audit entry can have, with the words people read for it.
// writeAudit accepts only these (so a new event cannot be written without being listed here), the dashboard's audit
// log filter is built from this list, and docs/audit-log.md documents each one (audit-events.test.ts checks both).

export const AUDIT_EVENTS = {
  'api_key.created': 'API key created',
  'api_key.updated': 'API key changed',
  'api_key.rotated': 'API key rotated',
  'api_key.grace_ended': "API key's previous secret ended early",
  'api_key.deleted': 'API key revoked',
  'api_key.exposed': 'API key found exposed',
  'api_key.anomaly': 'Unusual API key activity',
  'api_key.suspended': 'API key suspended',
  'admin_api_key.created': 'Admin key created',
  'admin_api_key.deleted': 'Admin key revoked',
  'admin_api_key.used': 'Admin key used',
  'service_account.created': 'Service account created',
  'service_account.updated': 'Service account renamed',
  'service_account.deleted': 'Service account deleted',
  'project.created': 'Project created',
  'project.updated': 'Project changed',
  'project.archived': 'Project archived',
  'project.user.added': 'Project member added',
  'project.user.updated': "Project member's role changed",
  'project.user.removed': 'Project member removed',
  'rate_limit.created': 'Rate limit added',
  'rate_limit.updated': 'Rate limit changed',
  'rate_limit.deleted': 'Rate limit removed',
  'spend_limit.updated': 'Project spend limit changed',
  'spend_limit.deleted': 'Project spend limit removed',
  'organization.spend_limit.updated': 'Organization spend limit changed',
  'organization.spend_limit.deleted': 'Organization spend limit removed',
  'spend_alert.created': 'Spend alert added',
  'spend_alert.updated': 'Spend alert changed',
  'spend_alert.deleted': 'Spend alert removed',
  'budget.threshold_crossed': 'Budget threshold crossed',
  'provider_credential.failed': "Provider refused one of Tollgate's keys for it",
  'provider_credential.set_aside': "Provider refused one of Tollgate's keys a model another key serves, or said its account is out of quota",
  'provider.created': 'Provider added',
  'provider.updated': 'Provider changed',
  'provider.deleted': 'Provider deleted',
  'provider_credential.created': 'Provider key added',
  'provider_credential.rotated': 'Provider key replaced',
  'provider_credential.disabled': 'Provider key disabled',
  'provider_credential.enabled': 'Provider key enabled',
  'provider_credential.deleted': 'Provider key deleted',
  'webhook.created': 'Webhook added',
  'webhook.deleted': 'Webhook deleted',
  'upstream_object.assigned': 'Upstream object assigned',
  'upstream_object.unassigned': 'Upstream object unassigned',
  'user.added': 'User added',
  'user.updated': "User's role changed",
  'user.deleted': 'User removed',
  'user.password_changed': 'Password changed',
  'invite.sent': 'Invitation created',
  'invite.accepted': 'Invitation accepted',
  'invite.deleted': 'Invitation withdrawn',
  'signup.failed': 'Sign-up refused',
  'login.succeeded': 'Signed in',
  'login.failed': 'Sign-in failed',
  'login.locked': 'Sign-in locked',
  'logout.succeeded': 'Signed out',
} as const;

export type AuditEventType = keyof typeof AUDIT_EVENTS;

/** Every audit event type, in the catalogue's order. */
export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENTS) as AuditEventType[];

/**
 * OpenAI's tenant-scoped event types (its ChatGPT Enterprise tenants; `tenant_only=true` asks for these alone). Tollgate
 * writes none of them.
 */
export function isTenantScoped(type: string): boolean {
  return type.startsWith('tenant.') || type === 'role.bound_to_resource' || type === 'role.unbound_from_resource';
}

/** An event type as OpenAI and Tollgate spell them: lower-case words joined by dots (`api_key.created`). */
export function isEventTypeName(type: string): boolean {
  return /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/.test(type);
}
