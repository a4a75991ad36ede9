import { useId, useState } from 'preact/hooks';
import { createKey, listServiceAccounts } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { useShowSecret } from '../../components/secret-reveal.js';
import { canManageKeys, isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { KeyFields } from './key-fields.js';
import { bodyOf, EMPTY_DRAFT, type KeyDraft } from './key-form-fields.js';

interface CreateKeyDialogProps {
  /** Called on close; `created` says whether the list needs reloading. */
  onClose: (created: boolean) => void;
  /** Preselects a service account as the owner (its page's "Create key"). */
  serviceAccountId?: string;
  /** Preselects the project. */
  projectId?: string;
}

/** "Create new secret key": the form, then the secret, shown once. */
export function CreateKeyDialog({ onClose, serviceAccountId: presetSvc, projectId: presetProject }: CreateKeyDialogProps) {
  const { account, projects, allProjects, projectId: current, selectProject } = useSession();
  const writable = projects.filter((p) => canManageKeys(account, p.id));
  // The key goes to the project the user chose (the dialog's preset, else the one being viewed) and no other: when
  // keys cannot be made there (archived, or no role for it), the dialog says so and waits for a project to be picked.
  // Falling back to the first writable project put a key meant for an archived project into another one unsaid.
  const chosen = presetProject ?? current ?? '';
  const [projectId, setProjectId] = useState(writable.some((w) => w.id === chosen) ? chosen : '');
  const refused = chosen && !writable.some((w) => w.id === chosen) ? allProjects.find((p) => p.id === chosen) : undefined;
  // Members own keys themselves; owners may give a key to a service account of the project.
  const [ownerType, setOwnerType] = useState<'user' | 'service_account'>(presetSvc ? 'service_account' : 'user');
  const [serviceAccountId, setServiceAccountId] = useState(presetSvc ?? '');
  const [draft, setDraft] = useState<KeyDraft>(EMPTY_DRAFT);
  const { error, busy, run, setError } = useAction();
  const showSecret = useShowSecret();
  const ids = { project: useId(), owner: useId(), svc: useId() };
  // The button that opened this: focus goes back to it after the secret's dialog, which replaces this one.
  const [opener] = useState(() => document.activeElement as HTMLElement | null);

  const serviceAccounts = useResource(() => (projectId ? listServiceAccounts(projectId) : Promise.resolve([])), [projectId]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!writable.some((w) => w.id === projectId)) {
      setError('Choose the project to create the key in.');
      return;
    }
    const svc = serviceAccountId || serviceAccounts.data?.[0]?.id;
    if (ownerType === 'service_account' && !svc) {
      setError('This project has no service account to own the key.');
      return;
    }
    const result = bodyOf(draft);
    if (!result.ok) {
      setError(result.message);
      return;
    }
    await run(async () => {
      const owner = ownerType === 'user' ? { type: 'user' as const, id: account.user.id } : { type: 'service_account' as const, id: svc as string };
      const created = await createKey(projectId, { ...result.body, owner });
      // Shown by the shell, whatever happens to this dialog's page meanwhile; the list behind it reloads.
      showSecret({ title: 'Save your key', secret: created.value, returnFocusTo: opener });
      // Show the new key's project behind the dialog, so the key is in the list once it closes.
      if (projectId !== current) selectProject(projectId);
      onClose(true);
    });
  };

  return (
    <Dialog title="Create new secret key" onClose={() => onClose(false)} wide returnFocusTo={opener} busy={busy}>
      <form class="stack" onSubmit={submit} noValidate>
        <fieldset class="fieldset">
          <legend>Owned by</legend>
          <div class="segmented">
            <label class={ownerType === 'user' ? 'segment segment-on' : 'segment'}>
              <input type="radio" name={ids.owner} checked={ownerType === 'user'} onChange={() => setOwnerType('user')} />
              You
            </label>
            <label class={ownerType === 'service_account' ? 'segment segment-on' : 'segment'}>
              <input type="radio" name={ids.owner} checked={ownerType === 'service_account'} onChange={() => setOwnerType('service_account')} />
              Service account
            </label>
          </div>
          <p class="hint">
            {ownerType === 'user'
              ? 'This key is tied to your user and stops working if you leave the organization.'
              : 'A service account key belongs to the project and survives people leaving; use it for production systems.'}
          </p>
          {ownerType === 'service_account' && (
            <div class="field">
              <label for={ids.svc}>Service account</label>
              <select id={ids.svc} class="input" value={serviceAccountId} onChange={(e) => setServiceAccountId(e.currentTarget.value)}>
                {(serviceAccounts.data ?? []).map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
              {!isOwner(account) && <p class="hint">Only organization owners can give a key to a service account.</p>}
            </div>
          )}
        </fieldset>

        <div class="field">
          <label for={ids.project}>Project</label>
          <select id={ids.project} class="input" value={projectId} onChange={(e) => setProjectId(e.currentTarget.value)}>
            {projectId === '' && (
              <option value="" disabled>
                Choose a project
              </option>
            )}
            {writable.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          {refused && projectId === '' && (
            <p class="notice-inline" role="status">
              {refused.status === 'archived'
                ? `${refused.name} is archived: keys cannot be created in it.`
                : `You cannot create keys in ${refused.name}: that needs the project's owner or member role.`}{' '}
              {writable.length > 0 ? 'Choose a project to create the key in.' : 'There is no project you can create keys in.'}
            </p>
          )}
        </div>

        <KeyFields draft={draft} onChange={setDraft} />

        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy || !projectId}>
            {busy ? 'Creating…' : 'Create secret key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
