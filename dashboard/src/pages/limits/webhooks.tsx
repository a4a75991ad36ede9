import { useId, useState } from 'preact/hooks';
import { isMissingEndpoint } from '../../api.js';
import { createWebhook, deleteWebhook, listWebhooks } from '../../api-client.js';
import type { Webhook } from '../../types.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { useShowSecret } from '../../components/secret-reveal.js';
import { formatDate } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

const EVENT_TYPES = [
  { id: 'budget.threshold_crossed', label: 'Budget threshold crossed' },
  { id: 'api_key.exposed', label: 'API key exposed' },
  { id: 'anomaly.detected', label: 'Anomaly detected' },
  { id: 'provider_credential.failed', label: 'Provider key refused' },
  { id: 'provider_credential.set_aside', label: 'Provider key refused a model' },
];

/** Webhook endpoints of the organization (limit and budget alerts); owners add and delete them. */
export function Webhooks() {
  const { account } = useSession();
  const hooks = useResource(() => listWebhooks(), []);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const { error, busy, run } = useAction();
  const showSecret = useShowSecret();
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const ids = { url: useId() };

  if (isMissingEndpoint(hooks.error)) return <p class="muted">Webhooks are not available on this server yet.</p>;
  const owner = isOwner(account);

  const add = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const created = await createWebhook(url.trim(), events);
      setUrl('');
      setEvents([]);
      // Shown by the shell, also if this page was left while the request was in flight.
      if (created.secret) showSecret({ title: 'Webhook signing secret', secret: created.secret, what: 'signing secret' });
      hooks.reload();
    });
  };
  return (
    <div class="stack">
      <LoadError error={hooks.error} retry={hooks.reload} what="webhooks" />
      <Alert message={error} />
      {hooks.data && hooks.data.length === 0 && <p class="muted">No webhooks yet.</p>}
      {hooks.data && hooks.data.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Webhook endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Signing secret</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {hooks.data.map((h) => (
              <tr key={h.id}>
                <th scope="row" data-label="URL" class="mono break">
                  {h.url}
                </th>
                <td data-label="Events">{h.event_types.length === 0 || h.event_types.includes('*') ? 'All events' : h.event_types.join(', ')}</td>
                <td data-label="Signing secret">
                  <code class="mono">{h.redacted_secret}</code>
                </td>
                <td data-label="Created">{formatDate(h.created_at)}</td>
                <td class="cell-actions">
                  {owner && (
                    <button type="button" class="icon-button icon-button-danger" aria-label={`Delete webhook ${h.url}`} onClick={() => setDeleting(h)}>
                      <TrashIcon />
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {owner && (
        <form class="toolbar" onSubmit={add}>
          <div class="field grow">
            <label for={ids.url}>Endpoint URL</label>
            <input id={ids.url} class="input" type="url" required placeholder="https://example.com/tollgate-events" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </div>
          <fieldset class="fieldset">
            <legend>
              Events <span class="optional">None checked means all</span>
            </legend>
            <div class="checks">
              {EVENT_TYPES.map((ev) => (
                <label key={ev.id} class="check">
                  <input
                    type="checkbox"
                    checked={events.includes(ev.id)}
                    onChange={(e) => setEvents(e.currentTarget.checked ? [...events, ev.id] : events.filter((x) => x !== ev.id))}
                  />
                  {ev.label}
                </label>
              ))}
            </div>
          </fieldset>
          <button type="submit" class="button button-primary" disabled={busy}>
            Add webhook
          </button>
        </form>
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete webhook"
          action="Delete webhook"
          busyLabel="Deleting…"
          work={() => deleteWebhook(deleting.id)}
          onClose={(changed) => {
            setDeleting(null);
            if (changed) hooks.reload();
          }}
        >
          <span class="mono break">{deleting.url}</span> stops receiving events at once, and its signing secret cannot be restored.
        </ConfirmDialog>
      )}
    </div>
  );
}
