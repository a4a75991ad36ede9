import { useEffect, useId, useState } from 'preact/hooks';
import { api, errorMessage, isMissingEndpoint } from '../../api.js';
import { projectPath } from '../../api-lists.js';
import { Alert, Notice } from '../../components/alert.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

interface SpendAlerts {
  thresholds: number[];
  recipients: string[];
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Alert thresholds (percent of the spend limit) and who is told; each fires once per period. */
export function SpendAlertsForm({ projectId }: { projectId: string }) {
  const { account } = useSession();
  const alerts = useResource(() => api<SpendAlerts>('GET', projectPath(projectId, '/spend_alerts')), [projectId]);
  const [thresholds, setThresholds] = useState('');
  const [recipients, setRecipients] = useState('');
  const { error, run, setError } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const ids = { thresholds: useId(), recipients: useId() };
  useEffect(() => {
    if (!alerts.data) return;
    setThresholds(alerts.data.thresholds.join(', '));
    setRecipients(alerts.data.recipients.join(', '));
  }, [alerts.data]);

  if (isMissingEndpoint(alerts.error)) return null;
  if (alerts.error) return <Alert message={errorMessage(alerts.error)} />;
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
      await api('POST', projectPath(projectId, '/spend_alerts'), { thresholds: values, recipients: list(recipients) });
      setSaved('Alerts saved.');
      alerts.reload();
    });
  };

  return (
    <form class="toolbar" onSubmit={save}>
      <div class="field">
        <label for={ids.thresholds}>Alert thresholds (%)</label>
        <input id={ids.thresholds} class="input" value={thresholds} disabled={!editable} placeholder="50, 80, 100" onInput={(e) => setThresholds(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for={ids.recipients}>Recipients</label>
        <input id={ids.recipients} class="input" value={recipients} disabled={!editable} placeholder="ops@example.com" onInput={(e) => setRecipients(e.currentTarget.value)} />
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
