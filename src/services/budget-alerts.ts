import { writeAudit } from './audit.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { BudgetAlert } from './limits-guard.js';
import type { Webhooks } from './webhooks.js';

/**
 * One alert per threshold per period: the row in alerts_sent is the claim (a unique key), so concurrent requests and
 * several instances raise it once. Then an audit entry and the organization's webhooks.
 */
export async function raiseBudgetAlert(deps: ServiceDeps, webhooks: Webhooks, alert: BudgetAlert): Promise<boolean> {
  const claimed = await deps.database.db
    .insertInto('alerts_sent')
    .values({ scope: `${alert.scope}:${alert.scopeId}`, period: alert.period, threshold: alert.threshold, sent_at: nowSeconds(deps) })
    .onConflict((oc) => oc.columns(['scope', 'period', 'threshold']).doNothing())
    .returning('threshold')
    .execute();
  if (claimed.length === 0) return false;
  const data = {
    scope: alert.scope,
    id: alert.scopeId,
    project_id: alert.projectId,
    period: alert.period,
    threshold_percent: alert.threshold,
    spent_usd: Number((alert.usedNanoUsd / 1e9).toFixed(6)),
    limit_usd: Number((alert.capNanoUsd / 1e9).toFixed(6)),
    recipients: alert.recipients,
  };
  await writeAudit(deps.database.db, deps, {
    orgId: alert.orgId,
    type: 'budget.threshold_crossed',
    actor: { type: 'system', id: null },
    projectId: alert.projectId,
    objectId: alert.scopeId,
    details: data,
  });
  await webhooks.emit(alert.orgId, 'budget.threshold_crossed', data);
  return true;
}
