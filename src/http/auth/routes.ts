import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import type { AccountContext } from '../../services/accounts.js';
import { registerInviteLookup } from './invite-lookup.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerMe } from './me.js';
import { registerPassword } from './password.js';
import { registerSignup } from './signup.js';
import { registerStatus } from './status.js';

/** The session API under /auth (its own scope: nothing here is reachable with an API key). */
export async function registerAuthRoutes(app: FastifyInstance, ctx: AccountContext): Promise<void> {
  await app.register(fastifyCookie);
  // Answers carry CSRF tokens and account details: never cache them, never sniff them.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });
  registerStatus(app, ctx);
  registerSignup(app, ctx);
  registerLogin(app, ctx);
  registerLogout(app, ctx);
  registerMe(app, ctx);
  registerPassword(app, ctx);
  registerInviteLookup(app, ctx);
}
