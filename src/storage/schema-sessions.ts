import type { Generated } from 'kysely';

/** A signed-in dashboard browser; the cookie holds the token, the table only its digest. */
export interface SessionsTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute end, whatever the activity; idle expiry is computed from last_seen_at. */
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
}

/** An invitation to join the organization (OpenAI's Invites API); the link's token is stored as a digest. */
export interface InvitesTable {
  seq: Generated<number>;
  id: string;
  org_id: string;
  email: string;
  role: 'owner' | 'reader';
  /** JSON: [{id, role}] project memberships granted on acceptance. */
  projects: string;
  token_hash: string;
  invited_by_type: string;
  invited_by_id: string | null;
  invited_at: number;
  expires_at: number;
  accepted_at: number | null;
  deleted_at: number | null;
}

/** Tables of dashboard accounts (see migrations-sessions.ts). */
export interface SessionTables {
  sessions: SessionsTable;
  invites: InvitesTable;
}
