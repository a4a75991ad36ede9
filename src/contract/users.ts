import type { OrgRole, ProjectRole } from '../core/roles.js';

// People as the admin API answers them (services/users.ts builds them).

export interface UserObject {
  object: 'organization.user';
  id: string;
  name: string;
  email: string;
  role: OrgRole;
  added_at: number;
  technical_level: string | null;
  developer_persona: string | null;
}

export interface ProjectUserObject {
  object: 'organization.project.user';
  id: string;
  name: string;
  email: string;
  role: ProjectRole;
  added_at: number;
}
