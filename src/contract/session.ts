import type { OrgRole, ProjectRole } from '../core/roles.js';

// The session API's answers (services/accounts.ts builds them).

/** The signed-in user as the dashboard sees it (`GET /auth/me`, sign-in, sign-up). */
export interface AccountObject {
  object: 'dashboard.session';
  user: { object: 'organization.user'; id: string; email: string; name: string; role: OrgRole };
  organization: { id: string; name: string };
  role: OrgRole;
  projects: Array<{ id: string; name: string; role: ProjectRole }>;
  csrf_token: string;
  expires_at: number;
}
