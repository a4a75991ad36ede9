import type { Actor, ServiceDeps } from './context.js';
import type { LoginThrottle } from './login-throttle.js';
import type { SetupTokenFile } from './setup-token.js';
import { csrfTokenFor, type SessionUser } from './sessions.js';
import type { AccountObject } from '../contract/session.js';

export type { AccountObject } from '../contract/session.js';

/** Where refused attempts are logged (pino's warn, in the server). */
export interface SecurityLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What the account use cases need beyond ServiceDeps: the organization, the server secret, the throttle, the log. */
export interface AccountContext {
  deps: ServiceDeps;
  orgId: string;
  orgName: string;
  secret: string;
  throttle: LoginThrottle;
  log: SecurityLog;
  /** This instance's copy of the setup token (the data dir's file); voided with the token. */
  setupTokenFile: SetupTokenFile | null;
}

/** Where a request came from, for sessions and audit entries. */
export interface Client {
  ip: string;
  userAgent: string | null;
}

/** The audit actor of a dashboard user. */
export function sessionActor(user: { userId: string | null; email: string | null }, client: Client): Actor {
  return { type: 'session', id: user.userId, email: user.email, ip: client.ip, userAgent: client.userAgent };
}

/** Describes a session: the user, their organization role, their active projects, and the CSRF token. */
export async function describeAccount(ctx: AccountContext, session: SessionUser): Promise<AccountObject> {
  const projects = await ctx.deps.database.db
    .selectFrom('project_members as m')
    .innerJoin('projects as p', 'p.id', 'm.project_id')
    .select(['p.id as id', 'p.name as name', 'm.role as role'])
    .where('m.user_id', '=', session.userId)
    .where('p.status', '=', 'active')
    .orderBy('p.seq')
    .execute();
  return {
    object: 'dashboard.session',
    user: { object: 'organization.user', id: session.userId, email: session.email, name: session.name, role: session.role },
    organization: { id: ctx.orgId, name: ctx.orgName },
    role: session.role,
    projects,
    csrf_token: csrfTokenFor(ctx.secret, session.tokenHash),
    expires_at: session.expiresAt,
  };
}
