import { useId, useState } from 'preact/hooks';
import {
  addProviderCredential,
  createProvider,
  deleteProvider,
  deleteProviderCredential,
  listProviderCredentials,
  listProviders,
  rotateProviderCredential,
  setProviderCredentialEnabled,
} from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { Dialog } from '../../components/dialog.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { formatDate } from '../../format.js';
import type { ProviderCredential, RuntimeProvider } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { credentialStatusLabel, EMPTY_PROVIDER, type ProviderDraft, providerBody, weightOf } from './provider-form.js';

/**
 * Providers added at run time and their keys (docs/providers.md), beside the config file's. Owners only. A key is typed
 * into a password field, sent once and never shown again: the list shows its redacted form.
 */
export function ProvidersSection() {
  const providers = useResource(() => listProviders(), []);
  const [draft, setDraft] = useState<ProviderDraft>(EMPTY_PROVIDER);
  const { error, run } = useAction();
  const ids = { name: useId(), kind: useId(), url: useId(), models: useId(), version: useId() };
  const set = (patch: Partial<ProviderDraft>) => setDraft({ ...draft, ...patch });
  const create = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await createProvider(providerBody(draft));
      setDraft(EMPTY_PROVIDER);
      providers.reload();
    });
  };
  return (
    <section class="card" aria-labelledby="providers-title">
      <h2 id="providers-title">Providers</h2>
      <p class="muted">
        Upstream providers added here serve the models listed, beside those of the configuration file, on every instance within
        seconds. Their keys are stored encrypted and never shown again.
      </p>
      <LoadError error={providers.error} retry={providers.reload} what="providers" />
      <Alert message={error} />
      {providers.data && providers.data.length === 0 && <p class="muted">No providers added here yet.</p>}
      {(providers.data ?? []).map((p) => (
        <ProviderCard key={p.id} provider={p} onDeleted={providers.reload} />
      ))}
      <form class="stack" onSubmit={create}>
        <h3>Add a provider</h3>
        <div class="toolbar">
          <div class="field">
            <label for={ids.name}>Name</label>
            <input id={ids.name} class="input" required maxLength={64} pattern="[A-Za-z0-9_\-]+" value={draft.name} onInput={(e) => set({ name: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for={ids.kind}>Kind</label>
            <select id={ids.kind} class="input" value={draft.kind} onChange={(e) => set({ kind: e.currentTarget.value as ProviderDraft['kind'] })}>
              <option value="openai">OpenAI-compatible</option>
              <option value="anthropic">Anthropic</option>
              <option value="azure-openai">Azure OpenAI</option>
            </select>
          </div>
          <div class="field grow">
            <label for={ids.url}>Base URL</label>
            <input id={ids.url} class="input" type="url" required placeholder="https://api.openai.com/v1" value={draft.baseUrl} onInput={(e) => set({ baseUrl: e.currentTarget.value })} />
          </div>
        </div>
        <div class="toolbar">
          <div class="field grow">
            <label for={ids.models}>
              Models <span class="optional">ids, or prefixes ending in * (claude-*)</span>
            </label>
            <input id={ids.models} class="input" value={draft.models} onInput={(e) => set({ models: e.currentTarget.value })} />
          </div>
          {draft.kind !== 'openai' && (
            <div class="field">
              <label for={ids.version}>API version</label>
              <input id={ids.version} class="input" required={draft.kind === 'azure-openai'} value={draft.apiVersion} onInput={(e) => set({ apiVersion: e.currentTarget.value })} />
            </div>
          )}
          <button type="submit" class="button" disabled={!draft.name.trim() || !draft.baseUrl.trim()}>
            Add provider
          </button>
        </div>
      </form>
    </section>
  );
}

/** One provider: its keys (redacted) with rotate, disable/enable and delete, and a form to add one. */
function ProviderCard({ provider, onDeleted }: { provider: RuntimeProvider; onDeleted: () => void }) {
  const creds = useResource(() => listProviderCredentials(provider.id), [provider.id]);
  const { error, run } = useAction();
  const [value, setValue] = useState('');
  const [weight, setWeight] = useState('');
  const [rotating, setRotating] = useState<ProviderCredential | null>(null);
  const [removing, setRemoving] = useState<ProviderCredential | null>(null);
  const [deleting, setDeleting] = useState(false);
  const ids = { value: useId(), weight: useId() };
  const served = [...provider.models, ...provider.model_prefixes.map((m) => `${m}*`)].join(', ') || 'no models yet';
  const act = (fn: () => Promise<unknown>) =>
    run(async () => {
      await fn();
      creds.reload();
    });
  const add = async (e: Event) => {
    e.preventDefault();
    await act(async () => {
      const read = weightOf(weight);
      if (!read.ok) throw new Error(read.message);
      await addProviderCredential(provider.id, value.trim(), read.weight);
      // The key leaves the page once sent: it is never shown again.
      setValue('');
      setWeight('');
    });
  };
  return (
    <section class="stack" aria-label={`Provider ${provider.name}`}>
      <h3>
        {provider.name} <span class="muted">{provider.kind}</span>
      </h3>
      <p class="muted mono break">
        {provider.base_url} · {served}
      </p>
      <LoadError error={creds.error} retry={creds.reload} what="provider keys" />
      <Alert message={error} />
      {creds.data && creds.data.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Keys of {provider.name}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Weight</th>
              <th scope="col">Status</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {creds.data.map((c) => (
              <tr key={c.id}>
                <th scope="row" data-label="Key">
                  <code class="mono">{c.redacted_value}</code>
                </th>
                <td data-label="Weight">{c.weight}</td>
                <td data-label="Status">
                  <span class={`badge badge-${c.status === 'active' ? 'active' : 'revoked'}`}>{credentialStatusLabel(c)}</span>
                </td>
                <td data-label="Added">{formatDate(c.created_at)}</td>
                <td class="cell-actions">
                  <button type="button" class="button button-small" onClick={() => setRotating(c)}>
                    Rotate
                  </button>
                  <button type="button" class="button button-small" onClick={() => act(() => setProviderCredentialEnabled(provider.id, c.id, c.status !== 'active'))}>
                    {c.status === 'active' ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" class="icon-button icon-button-danger" aria-label={`Delete key ${c.redacted_value}`} onClick={() => setRemoving(c)}>
                    <TrashIcon />
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creds.data && creds.data.length === 0 && <p class="muted">No keys: requests go out without one.</p>}
      <form class="toolbar" onSubmit={add}>
        <div class="field grow">
          <label for={ids.value}>New key for {provider.name}</label>
          <input id={ids.value} class="input mono" type="password" autocomplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.weight}>
            Weight <span class="optional">1</span>
          </label>
          <input id={ids.weight} class="input" inputMode="decimal" value={weight} onInput={(e) => setWeight(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button" disabled={!value.trim()}>
          Add key
        </button>
        <button type="button" class="button button-danger" onClick={() => setDeleting(true)}>
          Delete provider
        </button>
      </form>
      {rotating && (
        <RotateDialog
          credential={rotating}
          rotate={(next) => rotateProviderCredential(provider.id, rotating.id, next)}
          onClose={(changed) => {
            setRotating(null);
            if (changed) creds.reload();
          }}
        />
      )}
      {removing && (
        <ConfirmDialog
          title="Delete provider key"
          action="Delete key"
          busyLabel="Deleting…"
          work={() => deleteProviderCredential(provider.id, removing.id)}
          onClose={(changed) => {
            setRemoving(null);
            if (changed) creds.reload();
          }}
        >
          <code class="mono">{removing.redacted_value}</code> is deleted from {provider.name}: requests stop using it at once, and it cannot be
          restored.
        </ConfirmDialog>
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete provider"
          action="Delete provider"
          busyLabel="Deleting…"
          work={() => deleteProvider(provider.id)}
          onClose={(changed) => {
            setDeleting(false);
            if (changed) onDeleted();
          }}
        >
          <strong>{provider.name}</strong> and its keys are deleted; its models stop being routed to it at once.
        </ConfirmDialog>
      )}
    </section>
  );
}

/**
 * Replaces a key's secret: the next request uses the new one. A refusal is shown here with the typed key kept (the
 * dialog closed on any answer, the refusal shown behind it and the key typed lost).
 */
function RotateDialog({ credential, onClose, rotate }: { credential: ProviderCredential; onClose: (changed: boolean) => void; rotate: (value: string) => Promise<unknown> }) {
  const [value, setValue] = useState('');
  const { error, busy, run } = useAction();
  const id = useId();
  return (
    <Dialog title="Rotate provider key" onClose={() => onClose(false)} busy={busy}>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          await run(async () => {
            await rotate(value.trim());
            onClose(true);
          });
        }}
      >
        <p>
          Replaces <code class="mono">{credential.redacted_value}</code> at once.
        </p>
        <div class="field">
          <label for={id}>New key</label>
          <input id={id} class="input mono" type="password" autocomplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy || !value.trim()}>
            {busy ? 'Rotating…' : 'Rotate key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
