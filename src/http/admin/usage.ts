import type { FastifyInstance } from 'fastify';
import { getCosts, getUsage, USAGE_KINDS } from '../../services/usage-query.js';
import type { AppContext } from '../context.js';

type Q = { Querystring: Record<string, unknown> };

/** GET /v1/organization/usage/{kind} and /costs — OpenAI's Usage and Costs APIs (admin key or session). */
export function registerUsageRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { deps, orgId } = ctx;
  const retentionDays = ctx.config.usageRetentionDays;
  for (const kind of USAGE_KINDS) app.get<Q>(`/usage/${kind}`, (req) => getUsage(deps, orgId, kind, req.query, retentionDays));
  app.get<Q>('/costs', (req) => getCosts(deps, orgId, req.query));
}
