import { useId, useState } from 'preact/hooks';
import { createServiceAccount, deleteServiceAccount, listServiceAccounts, renameServiceAccount, searchAllKeys } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { Dialog } from '../../components/dialog.js';
import { LoadError } from '../../components/load-error.js';
import { ProjectPicker } from '../../components/project-picker.js';
import { useShowSecret } from '../../components/secret-reveal.js';
import { formatDate, formatNumber } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import type { ProjectApiKey, ServiceAccount } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { CreateKeyDialog } from '../api-keys/create-key-dialog.js';

/** Keys of a project by their service account owner. */
function keysByOwner(keys: ProjectApiKey[]): Map<string, ProjectApiKey[]> {
  const out = new Map<string, ProjectApiKey[]>();
  for (const k of keys) {
    const id = k.owner?.type === 'service_account' ? k.owner.service_account?.id : null;
    if (!id) continue;
    out.set(id, [...(out.get(id) ?? []), k]);
  }
  return out;
}

type Open = { kind: 'rename' | 'delete' | 'key'; svc: ServiceAccount } | null;

/**
 * Service accounts of the selected project: identities for production systems, whose keys survive people leaving.
 * Owners create (with a first key, shown once), rename and delete them (deleting revokes their keys).
 */
export function ServiceAccountsSection() {
  const { account, projectId } = useSession();
  const owner = isOwner(account);
  const accounts = useResource(() => (projectId ? listServiceAccounts(projectId) : Promise.resolve([] as ServiceAccount[])), [projectId]);
  const keys = useResource(() => (projectId ? searchAllKeys(projectId, { status: ['active', 'expired', 'exposed', 'suspended'] }) : Promise.resolve([])), [projectId]);
  const [name, setName] = useState('');
  const { error, busy, run } = useAction();
  const showSecret = useShowSecret();
  const [open, setOpen] = useState<Open>(null);
  const nameId = useId();
  const owned = keysByOwner(keys.data ?? []);
  const reload = () => {
    accounts.reload();
    keys.reload();
  };

  const create = async (e: Event) => {
    e.preventDefault();
    if (!projectId) return;
    await run(async () => {
      const created = await createServiceAccount(projectId, name.trim());
      setName('');
      // The first key comes with every account the dashboard makes (it never asks for create_service_account_only).
      // Shown by the shell, also if this page was left while the request was in flight.
      if (created.api_key?.value) showSecret({ title: "Save the service account's key", secret: created.api_key.value });
      reload();
    });
  };

  return (
    <section class="card" aria-labelledby="svc-title">
      <div class="section-head">
        <h2 id="svc-title">Service accounts</h2>
        <ProjectPicker />
      </div>
      <p class="muted">
        A service account is a project's own identity for a production system: its keys belong to the project, not to a person, and keep working
        when people leave.
      </p>
      <LoadError error={accounts.error} retry={accounts.reload} what="service accounts" />
      <LoadError error={keys.error} retry={keys.reload} what="keys" />
      <Alert message={error} />
      {accounts.data && accounts.data.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Service accounts of this project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">Created</th>
              <th scope="col">Keys</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((s) => {
              const n = owned.get(s.id)?.length ?? 0;
              return (
                <tr key={s.id}>
                  <th scope="row" data-label="Name" class="break">
                    {s.name}
                    {s.is_default && <span class="tag">default</span>}
                  </th>
                  <td data-label="ID">
                    <code class="mono break">{s.id}</code>
                  </td>
                  <td data-label="Created">{formatDate(s.created_at)}</td>
                  <td data-label="Keys">
                    <a href={`#/api-keys?project=${encodeURIComponent(projectId ?? '')}&owner=${encodeURIComponent(s.id)}`}>
                      {keys.data ? `${formatNumber(n)} ${n === 1 ? 'key' : 'keys'}` : 'Keys'}
                      <span class="visually-hidden"> of {s.name}</span>
                    </a>
                  </td>
                  <td class="cell-actions">
                    {owner && (
                      <div class="row-actions">
                        <button type="button" class="button button-small" aria-label={`New key for ${s.name}`} onClick={() => setOpen({ kind: 'key', svc: s })}>
                          New key
                        </button>
                        <button type="button" class="button button-small" aria-label={`Rename ${s.name}`} onClick={() => setOpen({ kind: 'rename', svc: s })}>
                          Rename
                        </button>
                        {!s.is_default && (
                          <button type="button" class="button button-small" aria-label={`Delete ${s.name}`} onClick={() => setOpen({ kind: 'delete', svc: s })}>
                            Delete
                          </button>
                        )}
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {accounts.data && accounts.data.length === 0 && <p class="muted">This project has no service accounts.</p>}
      {owner && projectId && (
        <form class="toolbar" onSubmit={create}>
          <div class="field grow">
            <label for={nameId}>New service account name</label>
            <input id={nameId} class="input" required maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </div>
          <button type="submit" class="button" disabled={busy || !name.trim()}>
            Create service account
          </button>
        </form>
      )}
      {!owner && <p class="muted small">Only organization owners create, rename and delete service accounts.</p>}
      {open?.kind === 'rename' && projectId && (
        <RenameDialog
          projectId={projectId}
          svc={open.svc}
          onClose={(changed) => {
            setOpen(null);
            if (changed) reload();
          }}
        />
      )}
      {open?.kind === 'delete' && projectId && (
        <DeleteDialog
          projectId={projectId}
          svc={open.svc}
          keys={owned.get(open.svc.id)?.length ?? 0}
          onClose={(changed) => {
            setOpen(null);
            if (changed) reload();
          }}
        />
      )}
      {open?.kind === 'key' && projectId && (
        <CreateKeyDialog
          projectId={projectId}
          serviceAccountId={open.svc.id}
          onClose={(changed) => {
            setOpen(null);
            if (changed) reload();
          }}
        />
      )}
    </section>
  );
}

function RenameDialog({ projectId, svc, onClose }: { projectId: string; svc: ServiceAccount; onClose: (changed: boolean) => void }) {
  const [name, setName] = useState(svc.name);
  const { error, busy, run } = useAction();
  const id = useId();
  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await renameServiceAccount(projectId, svc.id, name.trim());
      onClose(true);
    });
  };
  return (
    <Dialog title="Rename service account" onClose={() => onClose(false)} busy={busy}>
      <form class="stack" onSubmit={submit}>
        <div class="field">
          <label for={id}>Name</label>
          <input id={id} class="input" required maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy || !name.trim()}>
            {busy ? 'Saving…' : 'Rename'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ projectId, svc, keys, onClose }: { projectId: string; svc: ServiceAccount; keys: number; onClose: (changed: boolean) => void }) {
  return (
    <ConfirmDialog title="Delete service account" action="Delete service account" busyLabel="Deleting…" work={() => deleteServiceAccount(projectId, svc.id)} onClose={onClose}>
      <strong class="break">{svc.name}</strong> will be deleted and its {keys === 1 ? 'key' : `${formatNumber(keys)} keys`} revoked at once: systems using{' '}
      {keys === 1 ? 'it' : 'them'} stop working.
    </ConfirmDialog>
  );
}
