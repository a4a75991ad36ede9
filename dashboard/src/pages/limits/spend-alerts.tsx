import { useEffect, useId, useState } from 'preact/hooks';
import { isMissingEndpoint } from '../../api.js';
import { getAlertThresholds, setAlertThresholds } from '../../api-client.js';
import { Alert, Notice } from '../../components/alert.js';
import { LoadError } from '../../components/load-error.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Alert thresholds (percent of the spend limit); each fires once per period. Tollgate sends no email: an alert is a
 * signed webhook event (budget.threshold_crossed) and an audit entry, so the form asks for no recipients.
 */
export function SpendAlertsForm({ projectId }: { projectId: string }) {
  const { account } = useSession();
  const alerts = useResource(() => getAlertThresholds(projectId), [projectId]);
  const [thresholds, setThresholds] = useState('');
  const { error, run, setError } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const id = useId();
  useEffect(() => {
    if (alerts.data) setThresholds(alerts.data.join(', '));
  }, [alerts.data]);

  if (isMissingEndpoint(alerts.error)) return null;
  if (alerts.error) return <LoadError error={alerts.error} retry={alerts.reload} what="alerts" />;
  if (!alerts.data) return <p class="muted">Loading alerts…</p>;
  const editable = isOwner(account);

  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    const values = list(thresholds).map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 1000)) {
      setError('Thresholds are whole percentages of the spend limit, such as 50, 80, 100.');
      return;
    }
    await run(async () => {
      await setAlertThresholds(projectId, values);
      setSaved('Alerts saved.');
      alerts.reload();
    });
  };

  return (
    <form class="toolbar" onSubmit={save}>
      <div class="field grow">
        <label for={id}>Alert thresholds (%)</label>
        <input id={id} class="input" value={thresholds} disabled={!editable} placeholder="50, 80, 100" onInput={(e) => setThresholds(e.currentTarget.value)} />
        <p class="hint">
          Each threshold alerts once per period: a <code>budget.threshold_crossed</code> event to the webhooks below and an entry in the audit log.
          Tollgate sends no email; point a webhook at your chat or mail relay to be told there.
        </p>
      </div>
      {editable && (
        <button type="submit" class="button">
          Save alerts
        </button>
      )}
      <Alert message={error} />
      {saved && <Notice message={saved} />}
    </form>
  );
}
