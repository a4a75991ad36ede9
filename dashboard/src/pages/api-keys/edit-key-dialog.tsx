import { useId, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { projectPath } from '../../api-lists.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { PermissionsField } from '../../components/permissions-field.js';
import type { Permissions, ProjectApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';
import { parseIpList } from './key-form-fields.js';

/** Rename a key, or change its permissions or IP allowlist. */
export function EditKeyDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  const [name, setName] = useState(apiKey.name);
  const [permissions, setPermissions] = useState<Permissions>(apiKey.permissions);
  const [ips, setIps] = useState((apiKey.allowed_ips ?? []).join(', '));
  const { error, busy, run } = useAction();
  const ids = { name: useId(), ips: useId() };

  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await api('POST', projectPath(apiKey.project_id ?? '', `/api_keys/${encodeURIComponent(apiKey.id)}`), {
        name: name.trim() || apiKey.name,
        permissions,
        allowed_ips: parseIpList(ips),
      });
      onClose(true);
    });
  };

  return (
    <Dialog title="Edit secret key" onClose={() => onClose(false)} wide>
      <form class="stack" onSubmit={submit} noValidate>
        <div class="field">
          <label for={ids.name}>Name</label>
          <input id={ids.name} class="input" value={name} maxLength={256} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <PermissionsField value={permissions} onChange={setPermissions} />
        <div class="field">
          <label for={ids.ips}>
            IP allowlist <span class="optional">Optional</span>
          </label>
          <textarea id={ids.ips} class="input mono" rows={2} value={ips} onInput={(e) => setIps(e.currentTarget.value)} />
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
