// Who may do what, for a signed-in person: the role rules in one place, for the server's session checks
// (services/session-access.ts, services/api-keys.ts) and the dashboard (dashboard/src/session.ts), which must agree.
// Modelled on the OpenAI platform's roles:
//  - organization owner: everything;
//  - anyone else in the organization reads, except the owner-only areas (credentials, people's IPs, invites, webhooks);
//  - project owner: also manages every key of that project;
//  - project member: also creates keys for themself and manages the keys they own (issue 16 §3: a member could clear
//    the spend limit of a colleague's key, or rotate it and receive its new secret);
//  - project reader: reads.
// Admin keys and the CLI act for the organization itself and are not asked.

export const ORG_ROLES = ['owner', 'reader'] as const;
export const PROJECT_ROLES = ['owner', 'member', 'reader'] as const;

/** A person's role in the organization. */
export type OrgRole = (typeof ORG_ROLES)[number];
/** A person's role in one project. */
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/** Who owns a project key (for a key being created: who will). */
export interface KeyOwnerRef {
  type: 'user' | 'service_account';
  id: string;
}

/** A yes, or a no with the message the person is shown. */
export type RoleDecision = { allowed: true } | { allowed: false; message: string };

const ALLOWED: RoleDecision = { allowed: true };
const refuse = (message: string): RoleDecision => ({ allowed: false, message });

export const MESSAGES = {
  ownerOnlyArea: 'Only organization owners can see this.',
  ownerOnlyChange: 'Only organization owners can make this change; you can read it.',
  needsKeyRole: "You need the project's owner or member role to change its API keys.",
  serviceAccountKey: "Keys owned by a service account are managed by the project's owners; project members manage only their own keys.",
  colleagueKey: 'This key is owned by someone else: project members manage only their own keys. Ask a project owner.',
  keyForAnotherUser: 'Only an organization owner can create a key owned by another user.',
} as const;

/** Whether the person is an organization owner (who may do everything). */
export function isOrgOwner(orgRole: OrgRole | null): boolean {
  return orgRole === 'owner';
}

/** The person's effective role in a project: organization owners count as project owners; null when not a member. */
export function effectiveProjectRole(orgRole: OrgRole | null, projectRole: ProjectRole | null): ProjectRole | null {
  return isOrgOwner(orgRole) ? 'owner' : projectRole;
}

/** Whether the person may create keys in a project and manage some of its keys (owners all, members their own). */
export function mayManageProjectKeys(orgRole: OrgRole | null, projectRole: ProjectRole | null): boolean {
  const role = effectiveProjectRole(orgRole, projectRole);
  return role === 'owner' || role === 'member';
}

/** Whether the person may write a project's keys at all (the finer rule per key is decideKeyManagement). */
export function decideProjectKeyWrite(orgRole: OrgRole | null, projectRole: ProjectRole | null): RoleDecision {
  return mayManageProjectKeys(orgRole, projectRole) ? ALLOWED : refuse(MESSAGES.needsKeyRole);
}

export interface KeyManagementQuestion {
  /** The signed-in person. */
  userId: string;
  orgRole: OrgRole | null;
  /** Their role in the key's project, if any. */
  projectRole: ProjectRole | null;
  /** Who owns the key (for a key being created: who will). */
  owner: KeyOwnerRef | null;
}

/** Whether the person may change, rotate or revoke a project key (or create one with this owner). */
export function decideKeyManagement(q: KeyManagementQuestion): RoleDecision {
  if (effectiveProjectRole(q.orgRole, q.projectRole) === 'owner') return ALLOWED;
  if (q.projectRole !== 'member') return refuse(MESSAGES.needsKeyRole);
  if (q.owner?.type === 'user' && q.owner.id === q.userId) return ALLOWED;
  return refuse(q.owner?.type === 'service_account' ? MESSAGES.serviceAccountKey : MESSAGES.colleagueKey);
}

/** Whether the person may make a key owned by the user `ownerUserId`: themself always, anyone else as organization owner. */
export function decideKeyOwnerAssignment(userId: string, orgRole: OrgRole | null, ownerUserId: string): RoleDecision {
  return ownerUserId === userId || isOrgOwner(orgRole) ? ALLOWED : refuse(MESSAGES.keyForAnotherUser);
}

/** Whether the person may read an owner-only area (audit log, admin keys, invites, runtime providers, webhooks). */
export function decideOwnerOnlyRead(orgRole: OrgRole | null): RoleDecision {
  return isOrgOwner(orgRole) ? ALLOWED : refuse(MESSAGES.ownerOnlyArea);
}

/** Whether the person may make an organization-wide change (anything but a project key's). */
export function decideOrganizationWrite(orgRole: OrgRole | null): RoleDecision {
  return isOrgOwner(orgRole) ? ALLOWED : refuse(MESSAGES.ownerOnlyChange);
}

/**
 * What may be done to a project key in each status (the API's own rule, services/api-keys.ts, and the dashboard's
 * buttons): any key not revoked yet may be revoked (an exposed, expired or suspended one too), one not revoked or
 * exposed edited, an active one rotated.
 */
export function keyActions(status: string): { revoke: boolean; edit: boolean; rotate: boolean } {
  return { revoke: status !== 'revoked', edit: status !== 'revoked' && status !== 'exposed', rotate: status === 'active' };
}
