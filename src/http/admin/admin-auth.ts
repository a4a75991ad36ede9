import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import type { Actor } from '../../services/context.js';
import { verifyPresentedKey } from '../shared/authenticate.js';
import type { AppContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

/** A resolver that may authenticate a request by other means (the dashboard's session); null = not applicable. */
export type ActorResolver = (request: FastifyRequest) => Promise<Actor | null>;

/**
 * Authenticates a request by admin key (`sk-tg-admin-…`) and audits the use (`admin_api_key.used`, coalesced by
 * ctx.adminKeyUse). The one way any route takes an admin key: the admin API and the invitations API alike.
 * A project key gets 403; no key or a bad one gets 401.
 */
export async function authenticateAdminKey(ctx: AppContext, request: FastifyRequest): Promise<Actor> {
  const record = await verifyPresentedKey(ctx, { ip: request.ip, headers: request.headers, rawHeaders: request.raw.rawHeaders });
  if (record.kind !== 'admin') throw new TollgateError('admin_key_required');
  // As the gateway answers it (OpenAI's SDKs send OPENAI_ORG_ID's value on every call): a script pointed at another
  // organization must not change this one without a word.
  const org = request.headers['openai-organization'];
  if (typeof org === 'string' && org !== '' && org !== record.orgId) throw new TollgateError('mismatched_organization');
  const actor: Actor = {
    type: 'api_key',
    id: record.id,
    keyType: 'admin',
    ip: request.ip,
    userAgent: (request.headers['user-agent'] as string | undefined) ?? null,
  };
  await ctx.adminKeyUse.record({ orgId: record.orgId, keyId: record.id, actor, method: request.method, path: request.url.split('?')[0] });
  return actor;
}

/** Authenticates the admin API: an admin key (authenticateAdminKey), or a dashboard session when one is configured. */
export function installAdminAuth(app: FastifyInstance, ctx: AppContext, sessionResolver?: ActorResolver): void {
  app.addHook('onRequest', async (request, reply) => {
    // Every answer of the admin API is the organization's own (keys, usage, members, the audit log): kept by no
    // cache, a browser's or a proxy's, as the dashboard's session routes are not.
    reply.header('cache-control', 'no-store');
    if (sessionResolver && !request.headers.authorization && !request.headers['api-key']) {
      const actor = await sessionResolver(request);
      if (actor) {
        request.actor = actor;
        return;
      }
    }
    request.actor = await authenticateAdminKey(ctx, request);
  });
}

/** The authenticated actor of an admin request. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new TollgateError('invalid_api_key');
  return request.actor;
}
