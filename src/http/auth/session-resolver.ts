import type { FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { type AccountContext, type Client, sessionActor } from '../../services/accounts.js';
import { decideSessionAccess, isProjectKeyWrite } from '../../services/session-access.js';
import { findSession, isCsrfTokenValid, type SessionUser } from '../../services/sessions.js';
import { projectRoleOf } from '../../services/users.js';
import type { ActorResolver } from '../admin/admin-auth.js';
import { readSessionToken } from './cookies.js';

/** The client of a request, for sessions and audit entries. */
export function clientOf(request: FastifyRequest): Client {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}

/** Methods that change nothing, and so need no CSRF token (RFC 9110 §9.2.1 safe methods). */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * The session of the request's cookie. Null when there is no cookie; a cookie that names no live session
 * is a 401, so the dashboard can tell "expired" from "never signed in".
 */
export async function currentSession(ctx: AccountContext, request: FastifyRequest): Promise<SessionUser | null> {
  const token = readSessionToken(request);
  if (!token) return null;
  const session = await findSession(ctx.deps, token);
  if (!session) throw new TollgateError('invalid_session', 'Your session has ended. Sign in again.');
  return session;
}

/**
 * Refuses a state-changing request whose `x-csrf-token` header is not the session's. The cookie alone is
 * not proof of intent: a cross-site page can make the browser send it (OWASP CSRF Prevention Cheat Sheet).
 */
export function checkCsrf(ctx: AccountContext, request: FastifyRequest, session: SessionUser): void {
  if (isSafeMethod(request.method)) return;
  const header = request.headers['x-csrf-token'];
  if (!isCsrfTokenValid(ctx.secret, session.tokenHash, typeof header === 'string' ? header : undefined)) {
    throw new TollgateError('csrf_failed');
  }
}

/** Authenticates admin API requests by dashboard session: cookie, then CSRF, then the member's role. */
export function createSessionResolver(ctx: AccountContext): ActorResolver {
  return async (request) => {
    const session = await currentSession(ctx, request);
    if (!session) return null;
    checkCsrf(ctx, request, session);
    const route = request.routeOptions.url;
    const projectId = (request.params as Record<string, string | undefined> | undefined)?.project_id;
    const needsProjectRole = session.role !== 'owner' && !!projectId && isProjectKeyWrite(request.method, route);
    const decision = decideSessionAccess({
      method: request.method,
      route,
      orgRole: session.role,
      projectRole: needsProjectRole && projectId ? await projectRoleOf(ctx.deps, session.userId, projectId) : null,
    });
    if (!decision.allowed) throw new TollgateError('insufficient_permissions', decision.message);
    return sessionActor(session, clientOf(request));
  };
}
