import { decideOrganizationWrite, decideOwnerOnlyRead, decideProjectKeyWrite, type OrgRole, type ProjectRole, type RoleDecision } from '../core/roles.js';

// What a signed-in dashboard user may do in the admin API, route by route (admin keys are not subject to this: they
// are the organization's own credentials). The role rules themselves are core/roles.ts's; this file maps routes onto them.

const ADMIN = '/v1/organization';

/**
 * Areas only organization owners can even read: they name credentials, people's IPs, or pending invites. A webhook's
 * URL is often a credential itself (a chat's incoming-webhook URL lets anyone holding it post to the channel).
 */
const OWNER_ONLY_PREFIXES = [`${ADMIN}/audit_logs`, `${ADMIN}/admin_api_keys`, `${ADMIN}/invites`, `${ADMIN}/providers`, `${ADMIN}/webhooks`];

const KEYS = `${ADMIN}/projects/:project_id/api_keys`;
/**
 * The writes a project owner or member may make, by method and route pattern: every route that writes a project key,
 * a service account's new key included (the same key as `POST …/api_keys` with a service account as owner). Which
 * key the person may write is the service's to decide, by core/roles.ts's decideKeyManagement, for each route alike.
 */
const PROJECT_KEY_WRITES = new Set([
  `POST ${KEYS}`,
  `POST ${KEYS}/:key_id`,
  `DELETE ${KEYS}/:key_id`,
  `POST ${KEYS}/:key_id/rotate`,
  `POST ${KEYS}/:key_id/end_grace`,
  `POST ${ADMIN}/projects/:project_id/service_accounts/:service_account_id/api_keys`,
]);

export type SessionAccess = RoleDecision;

export interface AccessQuestion {
  method: string;
  /** The matched route pattern, e.g. `/v1/organization/projects/:project_id/api_keys`; undefined when no route matched. */
  route: string | undefined;
  orgRole: OrgRole;
  /** The user's role in the route's project, when the route names one. */
  projectRole: ProjectRole | null;
}

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

/** Whether the route is one a project role can unlock (so the caller knows to look the membership up). */
export function isProjectKeyWrite(method: string, route: string | undefined): boolean {
  return !!route && PROJECT_KEY_WRITES.has(`${method} ${route}`);
}

/** The decision for one request. */
export function decideSessionAccess(q: AccessQuestion): SessionAccess {
  const route = q.route ?? '';
  if (OWNER_ONLY_PREFIXES.some((p) => route === p || route.startsWith(`${p}/`))) return decideOwnerOnlyRead(q.orgRole);
  if (isRead(q.method)) return { allowed: true };
  if (isProjectKeyWrite(q.method, q.route)) return decideProjectKeyWrite(q.orgRole, q.projectRole);
  return decideOrganizationWrite(q.orgRole);
}
