import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Account, Project, ProjectApiKey, ProjectRole } from './types.js';

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
  if (account.role === 'owner') return 'owner';
  return account.projects.find((p) => p.id === projectId)?.role ?? null;
}

/** Whether the user may create, change, rotate and revoke keys in a project (mirrors the server's rule). */
export function canManageKeys(account: Account, projectId: string | null): boolean {
  const role = projectRole(account, projectId);
  return role === 'owner' || role === 'member';
}

/** Whether the user may change, rotate and revoke this key (mirrors the server's rule: a member only their own keys). */
export function canManageKey(account: Account, key: ProjectApiKey): boolean {
  const role = projectRole(account, key.project_id);
  if (role === 'owner') return true;
  return role === 'member' && key.owner?.type === 'user' && key.owner.user?.id === account.user.id;
}

/** Whether the user is an organization owner. */
export function isOwner(account: Account): boolean {
  return account.role === 'owner';
}
