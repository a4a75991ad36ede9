import { ProjectPicker } from '../../components/project-picker.js';
import { isOwner, useSession } from '../../session.js';
import { RateLimits } from './rate-limits.js';
import { SpendAlertsForm } from './spend-alerts.js';
import { SpendLimitForm } from './spend-limit.js';
import { Webhooks } from './webhooks.js';

/** Limits: the selected project's rate limits, spend limit and spend alerts, and (owners) the organization's webhooks. */
export function LimitsPage() {
  const { projectId, account } = useSession();
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Limits</h1>
          <p class="lede">Rate limits and a spend limit per project keep one runaway client from using everything; spend alerts tell your webhooks when the month's spend crosses an amount.</p>
        </div>
        <div class="page-tools">
          <ProjectPicker />
        </div>
      </div>
      {projectId ? (
        <>
          <section class="card" aria-labelledby="rate-limits-title">
            <h2 id="rate-limits-title">Rate limits</h2>
            <RateLimits projectId={projectId} />
          </section>
          <section class="card" aria-labelledby="spend-limit-title">
            <h2 id="spend-limit-title">Spend limit and alerts</h2>
            <p class="hint">Periods are UTC: a day starts at 00:00 UTC, a week on Monday, a month on its first day.</p>
            <SpendLimitForm projectId={projectId} />
            <SpendAlertsForm projectId={projectId} />
          </section>
        </>
      ) : (
        <p class="muted">Create a project first.</p>
      )}
      {/* A webhook's URL can be a credential (a chat's incoming webhook): owners only, as the server holds it. */}
      {isOwner(account) && (
        <section class="card" aria-labelledby="webhooks-title">
          <h2 id="webhooks-title">Webhooks</h2>
          <Webhooks />
        </section>
      )}
    </>
  );
}
