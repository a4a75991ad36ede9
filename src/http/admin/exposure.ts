import type { FastifyInstance } from 'fastify';
import { LookupSecretsBody, lookupSecrets, ReportExposedBody, reportExposed } from '../../services/exposure.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery } from './strict-input.js';

/** Scanner support: look keys up by secret, and report exposed ones (disables them at once). */
export function registerExposureRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/api_keys/lookup', { preValidation: refuseQuery }, (req) => lookupSecrets(ctx.deps, ctx.orgId, parseInput(LookupSecretsBody, req.body)));
  app.post('/api_keys/report_exposed', { preValidation: refuseQuery }, async (req) => {
    const items = parseInput(ReportExposedBody, req.body).reports;
    const data = await reportExposed(ctx.deps, ctx.orgId, items, actorOf(req), ctx.notify.exposed);
    return {
      object: 'list',
      data: data.map(({ token_hash, label, disabled_key_id, status }) => ({ token_hash, label, ...(disabled_key_id ? { disabled_key_id } : {}), ...(status ? { status } : {}) })),
    };
  });
}
