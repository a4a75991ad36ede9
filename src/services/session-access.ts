import type { OrgRole, ProjectRole } from './users.js';

// What a signed-in dashboard user may do in the admin API (admin keys are not subject to this: they are
// the organization's own credentials). Modelled on the OpenAI platform's roles:
//  - organization owner: everything;
//  - anyone else in the organization reads (GET/HEAD), except the owner-only areas below;
//  - project owner or member: also creates, updates, rotates and revokes that project's keys.

const ADMIN = '/v1/organization';

/** Areas only organization owners can even read: they name credentials, people's IPs, or pending invites. */
const OWNER_ONLY_PREFIXES = [`${ADMIN}/audit_logs`, `${ADMIN}/admin_api_keys`, `${ADMIN}/invites`, `${ADMIN}/providers`];

const KEYS = `${ADMIN}/projects/:project_id/api_keys`;
/** The writes a project owner or member may make, by method and route pattern. */
const PROJECT_KEY_WRITES = new Set([`POST ${KEYS}`, `POST ${KEYS}/:key_id`, `DELETE ${KEYS}/:key_id`, `POST ${KEYS}/:key_id/rotate`, `POST ${KEYS}/:key_id/end_grace`]);

export type SessionAccess = { allowed: true } | { allowed: false; message: string };

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
  if (q.orgRole === 'owner') return { allowed: true };
  const route = q.route ?? '';
  if (OWNER_ONLY_PREFIXES.some((p) => route === p || route.startsWith(`${p}/`))) {
    return { allowed: false, message: 'Only organization owners can see this.' };
  }
  if (isRead(q.method)) return { allowed: true };
  if (isProjectKeyWrite(q.method, q.route)) {
    if (q.projectRole === 'owner' || q.projectRole === 'member') return { allowed: true };
    return { allowed: false, message: "You need the project's owner or member role to change its API keys." };
  }
  return { allowed: false, message: 'Only organization owners can make this change; you can read it.' };
}

export interface KeyManagementQuestion {
  /** The signed-in user. */
  userId: string;
  orgRole: OrgRole | null;
  /** Their role in the key's project, if any. */
  projectRole: ProjectRole | null;
  /** Who owns the key (for a key being created: who will). */
  owner: { type: 'user' | 'service_account'; id: string } | null;
}

/**
 * Whether a signed-in user may change, rotate or revoke a project key (or create one with this owner). Organization
 * and project owners manage every key of the project; a member manages only the keys they own (issue 16 §3: a member
 * could clear the spend limit of a colleague's key, or rotate it and receive its new secret). Admin keys and the CLI are
 * the organization's own and are not asked.
 */
export function decideKeyManagement(q: KeyManagementQuestion): SessionAccess {
  if (q.orgRole === 'owner' || q.projectRole === 'owner') return { allowed: true };
  if (q.projectRole !== 'member') return { allowed: false, message: "You need the project's owner or member role to change its API keys." };
  if (q.owner?.type === 'user' && q.owner.id === q.userId) return { allowed: true };
  return {
    allowed: false,
    message:
      q.owner?.type === 'service_account'
        ? "Keys owned by a service account are managed by the project's owners; project members manage only their own keys."
        : "This key is owned by someone else: project members manage only their own keys. Ask a project owner.",
  };
}
