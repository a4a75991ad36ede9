import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { getCosts } from '../../services/costs-query.js';
import { JsonAnswer } from '../../services/usage-params.js';
import { getUsage, USAGE_KINDS } from '../../services/usage-query.js';
import type { AppContext } from '../context.js';

type Q = { Querystring: Record<string, unknown> };

/** GET /v1/organization/usage/{kind} and /costs — OpenAI's Usage and Costs APIs (admin key or session). */
export function registerUsageRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const retentionDays = ctx.config.usageRetentionDays;
  for (const kind of USAGE_KINDS) app.get<Q>(`/usage/${kind}`, (req) => getUsage(deps, orgId, kind, req.query, retentionDays));
  app.get<Q>('/costs', async (req, reply) => {
    const answer = await getCosts(deps, orgId, req.query);
    // Costs by key come written as JSON by the database (services/costs-query.ts): sent as they are.
    if (!(answer instanceof JsonAnswer)) return answer;
    return reply.type('application/json; charset=utf-8').send(Readable.from(answer.parts, { objectMode: false }));
  });
}
