import { revokeKey } from '../../api-client.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import type { ProjectApiKey } from '../../types.js';

/** Confirms and revokes a key. */
export function RevokeKeyDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  return (
    <ConfirmDialog title="Revoke secret key" action="Revoke key" busyLabel="Revoking…" work={() => revokeKey(apiKey.project_id ?? '', apiKey.id)} onClose={onClose}>
      <strong class="break">{apiKey.name}</strong> (<code class="mono">{apiKey.redacted_value}</code>) will be disabled immediately. API requests made with it
      will be rejected, which could break systems that still depend on it. A revoked key cannot be restored.
    </ConfirmDialog>
  );
}
