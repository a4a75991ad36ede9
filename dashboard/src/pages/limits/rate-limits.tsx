import { useId, useState } from 'preact/hooks';
import { RATE_LIMIT_UNLIMITED } from '../../../../src/core/project-rate-limits.js';
import { isMissingEndpoint } from '../../api.js';
import { deleteRateLimit, listRateLimits, setModelRateLimit, updateRateLimit } from '../../api-client.js';
import type { RateLimit } from '../../types.js';
import { EMPTY_DRAFT, FIELDS, type FieldKey, parseLimits } from './rate-limit-fields.js';
import { Alert, Notice } from '../../components/alert.js';
import { LoadError } from '../../components/load-error.js';
import { TrashIcon } from '../../components/icons.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

/** A dimension's limit, or null when none is set (the API shows RATE_LIMIT_UNLIMITED, or leaves it out). */
const limitOf = (l: RateLimit, key: FieldKey): number | null => {
  const v = l[key];
  return v === undefined || v === RATE_LIMIT_UNLIMITED ? null : v;
};

/** The API lists every model the project can use; the page shows those with a limit the gateway enforces. */
const isSet = (l: RateLimit) => FIELDS.some((f) => limitOf(l, f.key) !== null);

/** Per-model rate limits of the selected project; owners can change them. */
export function RateLimits({ projectId }: { projectId: string }) {
  const { account } = useSession();
  const limits = useResource(() => listRateLimits(projectId), [projectId]);
  if (isMissingEndpoint(limits.error)) {
    return <p class="muted">Rate limits are not available on this server yet.</p>;
  }
  if (limits.error) return <LoadError error={limits.error} retry={limits.reload} what="rate limits" />;
  if (!limits.data) return <p class="muted">Loading rate limits…</p>;
  const owner = isOwner(account);
  const set = limits.data.filter(isSet);
  return (
    <div class="stack">
      {set.length === 0 ? (
        <p class="muted">No rate limits are set for this project: only each key's own limits apply.</p>
      ) : (
    <table class="table compact">
      <caption class="visually-hidden">Rate limits per model</caption>
      <thead>
        <tr>
          <th scope="col">Model</th>
          {FIELDS.map((f) => (
            <th key={f.key} scope="col" class="num">
              {f.label}
            </th>
          ))}
          <th scope="col">
            <span class="visually-hidden">Save</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {set.map((l) => (
          <RateLimitRow key={l.id} limit={l} projectId={projectId} editable={owner} onSaved={limits.reload} />
        ))}
      </tbody>
    </table>
      )}
      {owner && <AddRateLimit projectId={projectId} onAdded={limits.reload} />}
    </div>
  );
}

function AddRateLimit({ projectId, onAdded }: { projectId: string; onAdded: () => void }) {
  const [model, setModel] = useState('');
  const [draft, setDraft] = useState(EMPTY_DRAFT);
  const { error, run, setError } = useAction();
  const modelId = useId();
  const add = async (e: Event) => {
    e.preventDefault();
    const body = parseLimits(draft);
    if (typeof body === 'string') return setError(body);
    if (FIELDS.every((f) => body[f.key] === null)) return setError('Give at least one limit.');
    await run(async () => {
      await setModelRateLimit(projectId, model.trim() || '*', body);
      setModel('');
      setDraft(EMPTY_DRAFT);
      onAdded();
    });
  };
  return (
    <form class="toolbar" onSubmit={add} aria-label="Add a rate limit">
      <div class="field grow">
        <label for={modelId}>Model</label>
        <input id={modelId} class="input mono" placeholder="* (all models)" value={model} onInput={(e) => setModel(e.currentTarget.value)} />
      </div>
      {FIELDS.map((f) => (
        <div class="field" key={f.key}>
          <label for={`${modelId}-${f.key}`}>{f.label}</label>
          <input
            id={`${modelId}-${f.key}`}
            class="input"
            inputMode="numeric"
            placeholder="No limit"
            value={draft[f.key]}
            onInput={(e) => setDraft({ ...draft, [f.key]: e.currentTarget.value })}
          />
        </div>
      ))}
      <button type="submit" class="button">
        Add rate limit
      </button>
      <Alert message={error} />
    </form>
  );
}

function RateLimitRow({ limit, projectId, editable, onSaved }: { limit: RateLimit; projectId: string; editable: boolean; onSaved: () => void }) {
  const [draft, setDraft] = useState<Record<FieldKey, string>>(() => ({
    max_requests_per_1_minute: String(limitOf(limit, 'max_requests_per_1_minute') ?? ''),
    max_tokens_per_1_minute: String(limitOf(limit, 'max_tokens_per_1_minute') ?? ''),
    max_requests_per_1_day: String(limitOf(limit, 'max_requests_per_1_day') ?? ''),
  }));
  const { error, run, setError } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    const body = parseLimits(draft);
    if (typeof body === 'string') {
      setError(body);
      return;
    }
    await run(async () => {
      await updateRateLimit(projectId, limit.id, body);
      setSaved('Saved.');
      onSaved();
    });
  };
  const remove = async () => {
    await run(async () => {
      await deleteRateLimit(projectId, limit.id);
      onSaved();
    });
  };
  return (
    <tr>
      <th scope="row" data-label="Model" class="mono">
        {limit.model === '*' ? '* (all models)' : limit.model}
      </th>
      {FIELDS.map((f) => (
        <td key={f.key} data-label={f.label} class="num">
          {editable ? (
            <input
              class="input input-small num"
              inputMode="numeric"
              aria-label={`${f.label} for ${limit.model}`}
              value={draft[f.key]}
              onInput={(e) => setDraft({ ...draft, [f.key]: e.currentTarget.value })}
            />
          ) : (
            (limitOf(limit, f.key) ?? '—')
          )}
        </td>
      ))}
      <td class="cell-actions">
        {editable && (
          <form onSubmit={save} class="row-actions">
            <button type="submit" class="button button-small" aria-label={`Save limits for ${limit.model}`}>
              Save
            </button>
            <button type="button" class="icon-button icon-button-danger" aria-label={`Delete limit for ${limit.model}`} onClick={remove}>
              <TrashIcon />
            </button>
          </form>
        )}
        <Alert message={error} />
        {saved && <Notice message={saved} />}
      </td>
    </tr>
  );
}
