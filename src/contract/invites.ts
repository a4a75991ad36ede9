import type { OrgRole, ProjectRole } from '../core/roles.js';

// Invitations as the admin API and the accept page's lookup answer them (services/invites.ts builds them).

export interface InviteObject {
  object: 'organization.invite';
  id: string;
  email: string;
  role: OrgRole;
  status: 'pending' | 'accepted' | 'expired';
  created_at: number;
  /** The same time under the older name of OpenAI's Invite object, kept for clients written against it. */
  invited_at: number;
  expires_at: number;
  accepted_at: number | null;
  projects: Array<{ id: string; role: ProjectRole }>;
}

/** An invite as created: with the link that accepts it (shown this once). */
export type CreatedInvite = InviteObject & { accept_url: string };

/** What an invitation link is for, as the accept page shows it before sign-up (POST /auth/invites/lookup). */
export interface InvitePreview {
  object: 'organization.invite.preview';
  email: string;
  role: OrgRole;
  expires_at: number;
  organization: { id: string; name: string };
  projects: Array<{ id: string; name: string; role: ProjectRole }>;
}
