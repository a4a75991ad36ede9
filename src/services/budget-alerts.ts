import { writeAudit } from './audit.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { BudgetAlert } from './limits-guard.js';
import type { Webhooks } from './webhooks.js';

const usd = (nano: number) => Number((nano / 1e9).toFixed(6));

/**
 * The claim of an alert in alerts_sent: a key budget's percent of its scope; a spend alert's id and amount (a changed
 * amount may be told again in the same month).
 */
function claimOf(alert: BudgetAlert): { scope: string; threshold: number } {
  if (alert.spendAlert) return { scope: `spend_alert:${alert.spendAlert.id}:${alert.spendAlert.thresholdCents}`, threshold: 0 };
  return { scope: `${alert.scope}:${alert.scopeId}`, threshold: alert.percent ?? 0 };
}

/**
 * One alert per threshold per period: the row in alerts_sent is the claim (a unique key), so concurrent requests and
 * several instances raise it once. Then an audit entry and the organization's webhooks.
 */
export async function raiseBudgetAlert(deps: ServiceDeps, webhooks: Webhooks, alert: BudgetAlert): Promise<boolean> {
  const claimed = await deps.database.db
    .insertInto('alerts_sent')
    .values({ ...claimOf(alert), period: alert.period, sent_at: nowSeconds(deps) })
    .onConflict((oc) => oc.columns(['scope', 'period', 'threshold']).doNothing())
    .returning('threshold')
    .execute();
  if (claimed.length === 0) return false;
  const data = {
    scope: alert.scope,
    id: alert.scopeId,
    project_id: alert.projectId,
    period: alert.period,
    spend_alert_id: alert.spendAlert?.id ?? null,
    threshold_percent: alert.percent,
    threshold_usd: usd(alert.thresholdNanoUsd),
    spent_usd: usd(alert.usedNanoUsd),
    limit_usd: alert.capNanoUsd === null ? null : usd(alert.capNanoUsd),
    recipients: [...(alert.spendAlert?.recipients ?? [])],
    subject_prefix: alert.spendAlert?.subjectPrefix ?? null,
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
