import type { FastifyInstance } from 'fastify';
import { listAuditLogs } from '../../services/audit-logs.js';
import type { AppContext } from '../context.js';

/** GET /v1/organization/audit_logs — OpenAI's Audit Logs API and filters. */
export function registerAuditLogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: Record<string, unknown> }>('/audit_logs', (req) => listAuditLogs(ctx.deps, ctx.orgId, req.query));
}
