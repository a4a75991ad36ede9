import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { isOwnerSignupOpen } from '../../services/setup-token.js';

/**
 * GET /auth/status — whether this instance still waits for its first (owner) account, which needs the setup token;
 * the sign-in page adapts.
 */
export function registerStatus(app: FastifyInstance, ctx: AccountContext): void {
  app.get('/auth/status', async () => ({ object: 'dashboard.status', owner_signup_open: await isOwnerSignupOpen(ctx.deps) }));
}
