import type { FastifyInstance } from 'fastify';
import { ListAuditLogsQuery, listAuditLogs } from '../../services/audit-logs.js';
import { parseQuery } from '../../services/query-params.js';
import type { AppContext } from '../context.js';

/** GET /v1/organization/audit_logs — OpenAI's Audit Logs API and filters. */
export function registerAuditLogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: Record<string, unknown> }>('/audit_logs', (req) => listAuditLogs(ctx.deps, ctx.orgId, parseQuery(ListAuditLogsQuery, req.query)));
}
