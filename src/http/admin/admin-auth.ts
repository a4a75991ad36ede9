import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { recordAdminKeyUse } from '../../services/admin-key-use.js';
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

const USE_AUDIT_INTERVAL_MS = 60_000;

/**
 * Authenticates the admin API: an admin key (`sk-tg-admin-…`), or a dashboard session when one is configured.
 * A project key gets 403; no key or a bad one gets 401. Each admin key's use is audited
 * (`admin_api_key.used`), coalesced to one entry per key and IP per minute so polling scripts do not flood the log.
 */
export function installAdminAuth(app: FastifyInstance, ctx: AppContext, sessionResolver?: ActorResolver): void {
  const lastAudited = new Map<string, number>();
  app.addHook('onRequest', async (request) => {
    if (sessionResolver && !request.headers.authorization && !request.headers['api-key']) {
      const actor = await sessionResolver(request);
      if (actor) {
        request.actor = actor;
        return;
      }
    }
    const record = await verifyPresentedKey(ctx, request);
    if (record.kind !== 'admin') throw new TollgateError('admin_key_required');
    const actor: Actor = {
      type: 'api_key',
      id: record.id,
      keyType: 'admin',
      ip: request.ip,
      userAgent: (request.headers['user-agent'] as string | undefined) ?? null,
    };
    request.actor = actor;
    const useKey = `${record.id}|${request.ip}`;
    const now = ctx.deps.clock();
    if ((lastAudited.get(useKey) ?? 0) + USE_AUDIT_INTERVAL_MS <= now) {
      lastAudited.set(useKey, now);
      if (lastAudited.size > 10_000) lastAudited.clear();
      await recordAdminKeyUse(ctx.deps, { orgId: record.orgId, keyId: record.id, actor, method: request.method, path: request.url.split('?')[0] });
    }
  });
}

/** The authenticated actor of an admin request. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new TollgateError('invalid_api_key');
  return request.actor;
}
