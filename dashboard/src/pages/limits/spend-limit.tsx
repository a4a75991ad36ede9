import { useEffect, useId, useState } from 'preact/hooks';
import { isMissingEndpoint } from '../../api.js';
import { deleteSpendLimit, getSpendLimit, setSpendLimit } from '../../api-client.js';
import { Alert, Notice } from '../../components/alert.js';
import { LoadError } from '../../components/load-error.js';
import { typedCents } from '../../dollars.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

// Periods are UTC calendar periods (src/core/periods.ts); rolling_<N>d values set through the API are kept as they are.
const INTERVALS = ['month', 'week', 'day', 'total'];
const ENFORCEMENT = ['enforcing', 'inactive'];

/** The project's spend limit (threshold in cents, shown in dollars); owners can change it. */
export function SpendLimitForm({ projectId }: { projectId: string }) {
  const { account } = useSession();
  // Wrapped: a project without a limit loads as { limit: null }, not as "no data yet".
  const limit = useResource(async () => ({ limit: await getSpendLimit(projectId) }), [projectId]);
  const [dollars, setDollars] = useState('');
  const [period, setPeriod] = useState('month');
  const [status, setStatus] = useState('enforcing');
  const { error, run, setError } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const ids = { amount: useId(), interval: useId(), status: useId() };
  useEffect(() => {
    const current = limit.data?.limit;
    setDollars(current ? (current.threshold_amount / 100).toFixed(2) : '');
    setPeriod(current?.interval || 'month');
    setStatus(current?.enforcement?.status || 'enforcing');
  }, [limit.data]);

  if (isMissingEndpoint(limit.error)) return <p class="muted">Spend limits are not available on this server yet.</p>;
  if (limit.error) return <LoadError error={limit.error} retry={limit.reload} what="spend limit" />;
  if (!limit.data) return <p class="muted">Loading spend limit…</p>;
  const editable = isOwner(account);
  const isSet = limit.data.limit !== null;

  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    const read = typedCents(dollars);
    if (!read.ok && read.problem === 'decimals') {
      setError('The limit has at most two decimals (whole cents), such as 99.50.');
      return;
    }
    if (!read.ok || read.cents === 0) {
      setError('The limit must be an amount in dollars above zero, such as 250 or 99.50; leave it empty for no limit.');
      return;
    }
    const amount = read.cents;
    await run(async () => {
      if (amount === null) {
        if (isSet) await deleteSpendLimit(projectId);
        setSaved(isSet ? 'Spend limit removed.' : 'No spend limit is set.');
      } else {
        await setSpendLimit(projectId, { threshold_amount: amount, currency: 'USD', interval: period, enforcement: { status } });
        setSaved('Spend limit saved.');
      }
      limit.reload();
    });
  };
  const options = (list: string[], current: string) => (list.includes(current) ? list : [current, ...list]);

  return (
    <form class="toolbar" onSubmit={save}>
      <div class="field">
        <label for={ids.amount}>Limit (USD)</label>
        <input id={ids.amount} class="input" inputMode="decimal" value={dollars} disabled={!editable} placeholder="No limit" onInput={(e) => setDollars(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for={ids.interval}>Per</label>
        <select id={ids.interval} class="input" value={period} disabled={!editable} onChange={(e) => setPeriod(e.currentTarget.value)}>
          {options(INTERVALS, period).map((i) => (
            <option key={i} value={i}>
              {i}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={ids.status}>Enforcement</label>
        <select id={ids.status} class="input" value={status} disabled={!editable} onChange={(e) => setStatus(e.currentTarget.value)}>
          {options(ENFORCEMENT, status).map((s) => (
            <option key={s} value={s}>
              {s === 'enforcing' ? 'Block over limit' : s === 'inactive' ? 'Watch only' : s}
            </option>
          ))}
        </select>
      </div>
      {editable && (
        <button type="submit" class="button button-primary">
          Save spend limit
        </button>
      )}
      <Alert message={error} />
      {saved && <Notice message={saved} />}
    </form>
  );
}
