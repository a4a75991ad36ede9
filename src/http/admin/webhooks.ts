import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { pageOf, pageParams, parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';
import { CreateWebhookBody } from '../../services/webhooks.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

/** GET /webhooks takes the page only. */
const ListWebhooksQuery = z.strictObject(pageParams);

/** /v1/organization/webhooks: endpoints for budget and exposure alerts (signing secret shown once). */
export function registerWebhookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: Record<string, unknown> }>('/webhooks', (req) => ctx.webhooks.list(ctx.orgId, pageOf(parseQuery(ListWebhooksQuery, req.query))));
  app.post('/webhooks', { preValidation: refuseQuery }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return ctx.webhooks.create(ctx.orgId, parseInput(CreateWebhookBody, req.body), actorOf(req));
  });
  app.delete<{ Params: { webhook_id: string } }>('/webhooks/:webhook_id', { preValidation: refuseQueryAndBody }, (req) => ctx.webhooks.delete(ctx.orgId, req.params.webhook_id, actorOf(req)));
}
