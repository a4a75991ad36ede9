import { useState } from 'preact/hooks';
import { updateKey } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { Dialog } from '../../components/dialog.js';
import type { ProjectApiKey } from '../../types.js';
import { useAction } from '../../use-action.js';
import { KeyFields } from './key-fields.js';
import { bodyOf, changedFields, draftOf, type KeyDraft } from './key-form-fields.js';

/** Change anything of a key but its secret: name, permissions, expiry, allowlists and limits; sends only what changed. */
export function EditKeyDialog({ apiKey, onClose }: { apiKey: ProjectApiKey; onClose: (changed: boolean) => void }) {
  const [draft, setDraft] = useState<KeyDraft>(() => draftOf(apiKey));
  // The key as the dialog opened with it: only what differs from it is sent.
  const [opened] = useState(() => bodyOf(draftOf(apiKey)));
  const { error, busy, run, setError } = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    // A cleared name is refused (the API refuses one), never quietly put back: the dialog closed as if it saved.
    if (draft.name.trim() === '') {
      setError('Give the key a name.');
      return;
    }
    const result = bodyOf({ ...draft, name: draft.name.trim() });
    if (!result.ok) {
      setError(result.message);
      return;
    }
    const body = opened.ok ? changedFields(opened.body, result.body) : result.body;
    if (Object.keys(body).length === 0) {
      onClose(false);
      return;
    }
    await run(async () => {
      await updateKey(apiKey.project_id ?? '', apiKey.id, body);
      onClose(true);
    });
  };

  return (
    <Dialog title="Edit secret key" onClose={() => onClose(false)} wide busy={busy}>
      <form class="stack" onSubmit={submit} noValidate>
        <KeyFields draft={draft} onChange={setDraft} currentExpiry={apiKey.expires_at} editing />
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
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
