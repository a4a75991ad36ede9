import { revokeKey } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import type { ProjectApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';

/** Confirms and revokes a key. */
export function RevokeKeyDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  const { error, busy, run } = useAction();
  const revoke = async () => {
    await run(async () => {
      await revokeKey(apiKey.project_id ?? '', apiKey.id);
      onClose(true);
    });
  };
  return (
    <Dialog title="Revoke secret key" onClose={() => onClose(false)} busy={busy}>
      <div class="stack">
        <p>
          <strong class="break">{apiKey.name}</strong> (<code class="mono">{apiKey.redacted_value}</code>) will be disabled immediately. API requests made with
          it will be rejected, which could break systems that still depend on it. A revoked key cannot be restored.
        </p>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="button" class="button button-danger" disabled={busy} onClick={revoke}>
            {busy ? 'Revoking…' : 'Revoke key'}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
