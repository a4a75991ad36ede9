import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { decideKeyManagement, effectiveProjectRole, isOrgOwner, mayManageProjectKeys, type ProjectRole } from '../../src/core/roles.js';
import type { Account, Project, ProjectApiKey } from './types.js';

/** What every page needs: who is signed in, the organization's projects, and the selected project. */
export interface SessionState {
  account: Account;
  /** Active projects (where keys are made and used). */
  projects: Project[];
  /** Every project, archived ones included (settings, names in usage). */
  allProjects: Project[];
  projectId: string | null;
  selectProject: (id: string) => void;
  reloadProjects: () => void;
  signOut: () => void;
}

export const SessionContext = createContext<SessionState | null>(null);

/** The session of a signed-in page. */
export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** The user's role in a project (organization owners count as project owners). */
export function projectRole(account: Account, projectId: string | null): ProjectRole | null {
  return effectiveProjectRole(account.role, membershipOf(account, projectId));
}

/** Whether the user may create, change, rotate and revoke keys in a project (the server's rule, core/roles.ts). */
export function canManageKeys(account: Account, projectId: string | null): boolean {
  return mayManageProjectKeys(account.role, membershipOf(account, projectId));
}

/** Whether the user may change, rotate and revoke this key (the server's rule: a member only their own keys). */
export function canManageKey(account: Account, key: ProjectApiKey): boolean {
  const owner = key.owner;
  const ownerId = owner?.type === 'user' ? owner.user?.id : owner?.service_account?.id;
  return decideKeyManagement({
    userId: account.user.id,
    orgRole: account.role,
    projectRole: membershipOf(account, key.project_id),
    owner: owner && ownerId ? { type: owner.type, id: ownerId } : null,
  }).allowed;
}

/** Whether the user is an organization owner. */
export function isOwner(account: Account): boolean {
  return isOrgOwner(account.role);
}

/** The user's own role in a project, not counting their organization role. */
function membershipOf(account: Account, projectId: string | null): ProjectRole | null {
  return account.projects.find((p) => p.id === projectId)?.role ?? null;
}
