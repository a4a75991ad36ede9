import { writeAudit } from './audit.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { BudgetAlert } from './limits-guard.js';
import type { WebhookEmitter } from './webhooks.js';

const usd = (nano: number) => Number((nano / 1e9).toFixed(6));

/**
 * The claim of an alert in alerts_sent: a key budget's percent of its scope and limit; a spend alert's id and amount.
 * A changed amount may be told again in the same period: a key's limit raised from $1.50 to $3 mid-month kept its
 * 50/80/100 % claimed from the old limit, and told nothing of the new one (found by a review).
 */
function claimOf(alert: BudgetAlert): { scope: string; threshold: number } {
  if (alert.spendAlert) return { scope: `spend_alert:${alert.spendAlert.id}:${alert.spendAlert.thresholdCents}`, threshold: 0 };
  const limit = alert.capNanoUsd === null ? '' : `:${alert.capNanoUsd}`;
  return { scope: `${alert.scope}:${alert.scopeId}${limit}`, threshold: alert.percent ?? 0 };
}

/**
 * One alert per threshold per period: the row in alerts_sent is the claim (a unique key), so concurrent requests and
 * several instances raise it once. Then an audit entry and the organization's webhooks.
 */
export async function raiseBudgetAlert(deps: ServiceDeps, webhooks: WebhookEmitter, alert: BudgetAlert): Promise<boolean> {
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
  // The claim, its audit entry and its webhook deliveries in one transaction: a claim whose entry (or event) failed was
  // never raised again in its period, and an event lost after its claim was never sent.
  const claim = claimOf(alert);
  const raised = await deps.database.db.transaction().execute(async (trx) => {
    // A rolling window's alert is claimed for the day it is told, which is its period: claimed on one of the window's
    // earlier days, it is told already. Claimed by the day alone, it was told again every day the window stayed over
    // it (a rolling_7d limit's 50/80/100 % on each of 11, 12 and 13 May, found by a review).
    if (alert.earlierPeriods.length > 0) {
      const told = await trx
        .selectFrom('alerts_sent')
        .select('period')
        .where('scope', '=', claim.scope)
        .where('threshold', '=', claim.threshold)
        .where('period', 'in', alert.earlierPeriods)
        .executeTakeFirst();
      if (told) return false;
    }
    const claimed = await trx
      .insertInto('alerts_sent')
      .values({ ...claim, period: alert.period, sent_at: nowSeconds(deps) })
      .onConflict((oc) => oc.columns(['scope', 'period', 'threshold']).doNothing())
      .returning('threshold')
      .execute();
    if (claimed.length === 0) return false;
    await writeAudit(trx, deps, {
      orgId: alert.orgId,
      type: 'budget.threshold_crossed',
      actor: { type: 'system', id: null },
      projectId: alert.projectId,
      objectId: alert.scopeId,
      details: data,
    });
    await webhooks.emit(alert.orgId, 'budget.threshold_crossed', data, trx);
    return true;
  });
  if (raised) webhooks.kick();
  return raised;
}

/** Claims this instance knows are written, at most (past it they are forgotten, and alerts_sent dedupes alone). */
const KNOWN_CLAIMS = 100_000;

/**
 * Raises budget alerts (raiseBudgetAlert), remembering the claims this instance knows are written: an exhausted budget
 * asks to raise its alerts on every refused request, and each asked the database again (three inserts per refused
 * request, on the event loop with SQLite: a key holder's refused requests slowed every key). A claim whose raising
 * failed is not remembered, and is tried again by the next request that reaches it.
 */
export class BudgetAlertRaiser {
  private readonly known = new Set<string>();
  private readonly raising = new Map<string, Promise<boolean>>();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly webhooks: WebhookEmitter,
  ) {}

  raise(alert: BudgetAlert): Promise<boolean> {
    const claim = claimOf(alert);
    const id = `${claim.scope}\u0000${alert.period}\u0000${claim.threshold}`;
    if (this.known.has(id)) return Promise.resolve(false);
    const under = this.raising.get(id);
    if (under) return under.then(() => false);
    const raising = raiseBudgetAlert(this.deps, this.webhooks, alert)
      .then((raised) => {
        if (this.known.size >= KNOWN_CLAIMS) this.known.clear();
        this.known.add(id);
        return raised;
      })
      .finally(() => this.raising.delete(id));
    this.raising.set(id, raising);
    return raising;
  }
}
