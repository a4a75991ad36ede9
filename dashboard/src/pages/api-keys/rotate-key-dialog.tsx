import { useId, useState } from 'preact/hooks';
import { rotateKey } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import { useShowSecret } from '../../components/secret-reveal.js';
import type { ProjectApiKey } from '../../types.js';
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
  const showSecret = useShowSecret();
  const graceId = useId();
  const [opener] = useState(() => document.activeElement as HTMLElement | null);

  const rotate = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const rotated = await rotateKey(apiKey.project_id ?? '', apiKey.id, grace);
      // Shown by the shell, whatever happens to this dialog's page meanwhile; the key behind it reloads.
      showSecret({ title: 'Save your new key', secret: rotated.value, returnFocusTo: opener });
      onClose(true);
    });
  };

  return (
    <Dialog title="Rotate secret key" onClose={() => onClose(false)} returnFocusTo={opener} busy={busy}>
      <form class="stack" onSubmit={rotate}>
        <p>
          A new secret replaces <code class="mono">{apiKey.redacted_value}</code> for <strong class="break">{apiKey.name}</strong>. Its name, permissions and
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
          <p class="hint">Give running systems time to pick up the new secret. You can end the grace period early from the key list or the key's page.</p>
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
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
