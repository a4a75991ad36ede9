import { useId, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { listAll, projectPath } from '../../api-lists.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { PermissionsField } from '../../components/permissions-field.js';
import { SecretReveal } from '../../components/secret-reveal.js';
import { canManageKeys, projectRole, useSession } from '../../session.js';
import type { CreatedKey, Permissions, ServiceAccount } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { type ExpiryChoice, expiresAtFor, parseIpList } from './key-form-fields.js';

interface CreateKeyDialogProps {
  /** Called on close; `created` says whether the list needs reloading. */
  onClose: (created: boolean) => void;
}

/** "Create new secret key": the form, then — in the same dialog — the secret, shown once. */
export function CreateKeyDialog({ onClose }: CreateKeyDialogProps) {
  const { account, projects, projectId: current, selectProject } = useSession();
  const writable = projects.filter((p) => canManageKeys(account, p.id));
  const [projectId, setProjectId] = useState(writable.some((p) => p.id === current) ? (current as string) : (writable[0]?.id ?? ''));
  const [ownerType, setOwnerType] = useState<'user' | 'service_account'>('user');
  // A member's keys are their own (they could not manage a service account's key afterwards).
  const mayOwnForService = projectRole(account, projectId) === 'owner';
  const owning = mayOwnForService ? ownerType : 'user';
  const [serviceAccountId, setServiceAccountId] = useState('');
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState<Permissions>('all');
  const [expiry, setExpiry] = useState<ExpiryChoice>('never');
  const [customDate, setCustomDate] = useState('');
  const [ips, setIps] = useState('');
  const { error, busy, run, setError } = useAction();
  // The secret lives here only while the dialog shows it; Done or Escape unmounts the dialog and drops it.
  const [secret, setSecret] = useState<string | null>(null);
  const ids = { name: useId(), project: useId(), owner: useId(), svc: useId(), expiry: useId(), date: useId(), ips: useId() };

  const serviceAccounts = useResource(
    () => (projectId ? listAll<ServiceAccount>(projectPath(projectId, '/service_accounts')) : Promise.resolve([])),
    [projectId],
  );

  const close = () => {
    const created = secret !== null;
    setSecret(null);
    onClose(created);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const svc = serviceAccountId || serviceAccounts.data?.[0]?.id;
    if (owning === 'service_account' && !svc) {
      setError('This project has no service account to own the key.');
      return;
    }
    const body: Record<string, unknown> = {
      permissions,
      owner: owning === 'user' ? { type: 'user', id: account.user.id } : { type: 'service_account', id: svc },
    };
    if (name.trim()) body.name = name.trim();
    const expiresAt = expiresAtFor(expiry, customDate);
    if (expiry === 'custom' && expiresAt === null) {
      setError('Choose the date the key expires.');
      return;
    }
    if (expiresAt !== null) body.expires_at = expiresAt;
    const allowed = parseIpList(ips);
    if (allowed) body.allowed_ips = allowed;
    await run(async () => {
      const created = await api<CreatedKey>('POST', projectPath(projectId, '/api_keys'), body);
      setSecret(created.value);
      // Show the new key's project behind the dialog, so the key is in the list once it closes.
      if (projectId !== current) selectProject(projectId);
    });
  };

  if (secret !== null) {
    return (
      <Dialog title="Save your key" onClose={close}>
        <SecretReveal secret={secret} onDone={close} />
      </Dialog>
    );
  }

  return (
    <Dialog title="Create new secret key" onClose={close} wide>
      <form class="stack" onSubmit={submit} noValidate>
        <fieldset class="fieldset">
          <legend>Owned by</legend>
          <div class="segmented">
            <label class={owning === 'user' ? 'segment segment-on' : 'segment'}>
              <input type="radio" name={ids.owner} checked={owning === 'user'} onChange={() => setOwnerType('user')} />
              You
            </label>
            {mayOwnForService && (
              <label class={owning === 'service_account' ? 'segment segment-on' : 'segment'}>
                <input type="radio" name={ids.owner} checked={owning === 'service_account'} onChange={() => setOwnerType('service_account')} />
                Service account
              </label>
            )}
          </div>
          <p class="hint">
            {owning === 'user'
              ? 'This key is tied to your user and stops working if you leave the organization.'
              : "A service account key belongs to the project and survives people leaving; use it for production systems."}
          </p>
          {owning === 'service_account' && (
            <div class="field">
              <label for={ids.svc}>Service account</label>
              <select id={ids.svc} class="input" value={serviceAccountId} onChange={(e) => setServiceAccountId(e.currentTarget.value)}>
                {(serviceAccounts.data ?? []).map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </div>
          )}
        </fieldset>

        <div class="field">
          <label for={ids.name}>
            Name <span class="optional">Optional</span>
          </label>
          <input id={ids.name} class="input" value={name} maxLength={256} placeholder="My test key" onInput={(e) => setName(e.currentTarget.value)} />
        </div>

        <div class="field">
          <label for={ids.project}>Project</label>
          <select id={ids.project} class="input" value={projectId} onChange={(e) => setProjectId(e.currentTarget.value)}>
            {writable.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>

        <PermissionsField value={permissions} onChange={setPermissions} />

        <div class="field-row">
          <div class="field">
            <label for={ids.expiry}>Expires</label>
            <select id={ids.expiry} class="input" value={expiry} onChange={(e) => setExpiry(e.currentTarget.value as ExpiryChoice)}>
              <option value="never">Never</option>
              <option value="7">In 7 days</option>
              <option value="30">In 30 days</option>
              <option value="90">In 90 days</option>
              <option value="custom">On a date…</option>
            </select>
          </div>
          {expiry === 'custom' && (
            <div class="field">
              <label for={ids.date}>Expiry date</label>
              <input id={ids.date} class="input" type="date" value={customDate} onInput={(e) => setCustomDate(e.currentTarget.value)} />
            </div>
          )}
        </div>

        <div class="field">
          <label for={ids.ips}>
            IP allowlist <span class="optional">Optional</span>
          </label>
          <textarea
            id={ids.ips}
            class="input mono"
            rows={2}
            value={ips}
            placeholder="203.0.113.7, 10.0.0.0/8"
            onInput={(e) => setIps(e.currentTarget.value)}
          />
          <p class="hint">Addresses or CIDR ranges, separated by commas or new lines. Empty allows any address.</p>
        </div>

        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={close}>
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
