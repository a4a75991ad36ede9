import { useId, useState } from 'preact/hooks';
import { isMissingEndpoint } from '../../api.js';
import { createSpendAlert, deleteSpendAlert, listSpendAlerts } from '../../api-client.js';
import { Alert, Notice } from '../../components/alert.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { typedCents } from '../../dollars.js';
import { formatCents } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import type { SpendAlert } from '../../types.js';

const list = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The project's spend alerts: amounts of the month's spend (UTC calendar month), each told once a month when crossed,
 * as a signed webhook event (budget.threshold_crossed) and an audit entry. Tollgate sends no email itself: the
 * recipients travel in the event, for whatever relays it.
 */
/** The server's bound on an alert's amount, in cents (services/spend-alerts.ts threshold_amount). */
const MAX_ALERT_CENTS = 1e12;

/**
 * An alert's amount typed in dollars, in whole cents, or why it is refused. Rounding silently turned 0.001 into an
 * alert at $0.00, so an amount below a cent or with more than two decimals is refused instead.
 */
export function alertCents(typed: string): number | string {
  const read = typedCents(typed);
  if (!read.ok && read.problem === 'decimals') return 'An alert amount has at most two decimals (whole cents), such as 49.50.';
  if (!read.ok || read.cents === null) return "An alert is an amount in dollars of the month's spend, such as 100 or 49.50.";
  const cents = read.cents;
  // $0 is an alert at the month's first spend (the server's meaning), not a rounding.
  if (cents > MAX_ALERT_CENTS) return 'An alert amount is at most $10,000,000,000.00.';
  return cents;
}

export function SpendAlertsForm({ projectId }: { projectId: string }) {
  const { account } = useSession();
  const alerts = useResource(() => listSpendAlerts(projectId), [projectId]);
  const [dollars, setDollars] = useState('');
  const [recipients, setRecipients] = useState('');
  const { error, run, setError } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const ids = { amount: useId(), recipients: useId() };

  if (isMissingEndpoint(alerts.error)) return null;
  if (alerts.error) return <LoadError error={alerts.error} retry={alerts.reload} what="spend alerts" />;
  if (!alerts.data) return <p class="muted">Loading spend alerts…</p>;
  const editable = isOwner(account);

  const add = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    const cents = alertCents(dollars);
    if (typeof cents === 'string') {
      setError(cents);
      return;
    }
    await run(async () => {
      await createSpendAlert(projectId, { threshold_amount: cents, notification_channel: { type: 'email', recipients: list(recipients) } });
      setDollars('');
      setRecipients('');
      setSaved('Alert added.');
      alerts.reload();
    });
  };
  const remove = async (alert: SpendAlert) => {
    setSaved(null);
    await run(async () => {
      await deleteSpendAlert(projectId, alert.id);
      alerts.reload();
    });
  };

  return (
    <div class="stack">
      <h3>Spend alerts</h3>
      {alerts.data.length === 0 ? (
        <p class="muted">No spend alerts for this project.</p>
      ) : (
        <table class="table compact">
          <caption class="visually-hidden">Spend alerts</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                Month's spend
              </th>
              <th scope="col">Recipients</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {alerts.data.map((a) => (
              <tr key={a.id}>
                <th scope="row" data-label="Month's spend" class="num">
                  {formatCents(a.threshold_amount)}
                </th>
                <td data-label="Recipients" class="break">
                  {a.notification_channel.recipients.length ? a.notification_channel.recipients.join(', ') : '—'}
                </td>
                <td class="cell-actions">
                  {editable && (
                    <button type="button" class="icon-button icon-button-danger" aria-label={`Delete alert at ${formatCents(a.threshold_amount)}`} onClick={() => remove(a)}>
                      <TrashIcon />
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable && (
        <form class="toolbar" onSubmit={add} aria-label="Add a spend alert">
          <div class="field">
            <label for={ids.amount}>Alert at (USD per month)</label>
            <input id={ids.amount} class="input" inputMode="decimal" value={dollars} placeholder="100" onInput={(e) => setDollars(e.currentTarget.value)} />
          </div>
          <div class="field grow">
            <label for={ids.recipients}>
              Recipients <span class="optional">Optional</span>
            </label>
            <input id={ids.recipients} class="input" value={recipients} placeholder="finance@example.com" onInput={(e) => setRecipients(e.currentTarget.value)} />
          </div>
          <button type="submit" class="button">
            Add alert
          </button>
        </form>
      )}
      <p class="hint">
        Each alert is told once a month when the project's spend crosses it: a <code>budget.threshold_crossed</code> event to the webhooks below and an
        entry in the audit log. Tollgate sends no email: the recipients travel in the event, so a webhook pointed at your mail or chat relay can tell them.
      </p>
      <Alert message={error} />
      {saved && <Notice message={saved} />}
    </div>
  );
}
