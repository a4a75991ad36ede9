import { useId, useState } from 'preact/hooks';
import { createAdminKey, listAdminKeys, revokeAdminKey } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { useShowSecret } from '../../components/secret-reveal.js';
import { formatDate } from '../../format.js';
import type { AdminApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

/** Admin keys (`sk-tg-admin-…`) for the admin API and the CLI: create (shown once) and revoke. Owners only. */
export function AdminKeysSection() {
  const keys = useResource(() => listAdminKeys(), []);
  const [name, setName] = useState('');
  const { error, busy, run } = useAction();
  const showSecret = useShowSecret();
  const [revoking, setRevoking] = useState<AdminApiKey | null>(null);
  const nameId = useId();
  const create = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const created = await createAdminKey(name.trim());
      setName('');
      // Shown by the shell, also if this page was left while the request was in flight.
      if (created.value) showSecret({ title: 'Save your admin key', secret: created.value, what: 'admin key' });
      keys.reload();
    });
  };
  const list = keys.data ?? [];
  return (
    <section class="card" aria-labelledby="admin-keys-title">
      <h2 id="admin-keys-title">Admin keys</h2>
      <p class="muted">Admin keys manage the whole organization through the admin API and the CLI. Keep them out of applications.</p>
      <LoadError error={keys.error} retry={keys.reload} what="admin keys" />
      <Alert message={error} />
      {list.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Admin keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Secret key</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.id}>
                <th scope="row" data-label="Name" class="break">
                  {k.name}
                </th>
                <td data-label="Secret key">
                  <code class="mono">{k.redacted_value}</code>
                </td>
                <td data-label="Created">{formatDate(k.created_at)}</td>
                <td data-label="Last used">{k.last_used_at ? formatDate(k.last_used_at) : 'Never'}</td>
                <td data-label="Status">
                  <span class={`badge badge-${k.status}`}>{k.status}</span>
                </td>
                <td class="cell-actions">
                  {k.status === 'active' && (
                    <button type="button" class="icon-button icon-button-danger" aria-label={`Revoke ${k.name}`} onClick={() => setRevoking(k)}>
                      <TrashIcon />
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="toolbar" onSubmit={create}>
        <div class="field grow">
          <label for={nameId}>New admin key name</label>
          <input id={nameId} class="input" required maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button" disabled={busy || !name.trim()}>
          Create admin key
        </button>
      </form>
      {revoking && (
        <ConfirmDialog
          title="Revoke admin key"
          action="Revoke key"
          busyLabel="Revoking…"
          work={() => revokeAdminKey(revoking.id)}
          onClose={(changed) => {
            setRevoking(null);
            if (changed) keys.reload();
          }}
        >
          <strong>{revoking.name}</strong> will stop working immediately for every script and CLI that uses it.
        </ConfirmDialog>
      )}
    </section>
  );
}
