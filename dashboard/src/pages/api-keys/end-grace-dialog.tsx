import { endGrace } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { formatDateTime } from '../../format.js';
import type { ProjectApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';

/** Confirms ending a rotation's grace period: the previous secret stops working now instead of at its time. */
export function EndGraceDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  const { error, busy, run } = useAction();
  const end = async () => {
    await run(async () => {
      await endGrace(apiKey.project_id ?? '', apiKey.id);
      onClose(true);
    });
  };
  return (
    <Dialog title="End the grace period" onClose={() => onClose(false)} busy={busy}>
      <div class="stack">
        <p>
          The secret that <strong class="break">{apiKey.name}</strong> had before its last rotation works until{' '}
          {formatDateTime(apiKey.previous_secret_expires_at)}. Ending the grace period stops it now; the current secret (
          <code class="mono">{apiKey.redacted_value}</code>) keeps working. Do this once every system uses the new secret.
        </p>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="button" class="button button-danger" disabled={busy} onClick={end}>
            {busy ? 'Ending…' : 'End grace period'}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
