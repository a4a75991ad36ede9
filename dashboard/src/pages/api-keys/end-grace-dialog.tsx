import { endGrace } from '../../api-client.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { formatDateTime } from '../../format.js';
import type { ProjectApiKey } from '../../types.js';

/** Confirms ending a rotation's grace period: the previous secret stops working now instead of at its time. */
export function EndGraceDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  return (
    <ConfirmDialog title="End the grace period" action="End grace period" busyLabel="Ending…" work={() => endGrace(apiKey.project_id ?? '', apiKey.id)} onClose={onClose}>
      The secret that <strong class="break">{apiKey.name}</strong> had before its last rotation works until{' '}
      {formatDateTime(apiKey.previous_secret_expires_at)}. Ending the grace period stops it now; the current secret (
      <code class="mono">{apiKey.redacted_value}</code>) keeps working. Do this once every system uses the new secret.
    </ConfirmDialog>
  );
}
