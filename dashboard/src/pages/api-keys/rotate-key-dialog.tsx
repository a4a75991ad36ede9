import { useId, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { projectPath } from '../../api-lists.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { SecretReveal } from '../../components/secret-reveal.js';
import type { CreatedKey, ProjectApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';

const GRACE_CHOICES = [
  { seconds: 0, label: 'Immediately' },
  { seconds: 3600, label: 'After 1 hour' },
  { seconds: 86_400, label: 'After 24 hours' },
  { seconds: 604_800, label: 'After 7 days' },
];

/** Issue a new secret for a key; the old one keeps working for the grace period. The new one is shown once. */
export function RotateKeyDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  const [grace, setGrace] = useState(3600);
  const { error, busy, run } = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const graceId = useId();

  const close = () => {
    const changed = secret !== null;
    setSecret(null);
    onClose(changed);
  };

  const rotate = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const rotated = await api<CreatedKey>('POST', projectPath(apiKey.project_id ?? '', `/api_keys/${encodeURIComponent(apiKey.id)}/rotate`), {
        grace_period_seconds: grace,
      });
      setSecret(rotated.value);
    });
  };

  if (secret !== null) {
    return (
      <Dialog title="Save your new key" onClose={close}>
        <SecretReveal secret={secret} onDone={close} />
      </Dialog>
    );
  }
  return (
    <Dialog title="Rotate secret key" onClose={close}>
      <form class="stack" onSubmit={rotate}>
        <p>
          A new secret replaces <code class="mono">{apiKey.redacted_value}</code> for <strong>{apiKey.name}</strong>. Its name, permissions and
          history stay the same.
        </p>
        <div class="field">
          <label for={graceId}>Old secret stops working</label>
          <select id={graceId} class="input" value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {GRACE_CHOICES.map((c) => (
              <option key={c.seconds} value={c.seconds}>
                {c.label}
              </option>
            ))}
          </select>
          <p class="hint">Give running systems time to pick up the new secret.</p>
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Rotating…' : 'Rotate key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
