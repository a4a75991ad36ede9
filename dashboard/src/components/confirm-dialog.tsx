import type { ComponentChildren } from 'preact';
import { useAction } from '../use-action.js';
import { Alert } from './alert.js';
import { Dialog } from './dialog.js';

interface ConfirmDialogProps {
  title: string;
  /** What the dialog asks to confirm. */
  children: ComponentChildren;
  /** The danger button's label, and its label while `work` runs. */
  action: string;
  busyLabel: string;
  /** The request; a refusal is shown in the dialog, which stays open. */
  work: () => Promise<unknown>;
  /** Called on Cancel (false) and once `work` succeeded (true). */
  onClose: (changed: boolean) => void;
}

/** Asks before an action that cannot be undone, and does it: Cancel and Escape wait while it runs. */
export function ConfirmDialog({ title, children, action, busyLabel, work, onClose }: ConfirmDialogProps) {
  const { error, busy, run } = useAction();
  const confirm = async () => {
    await run(async () => {
      await work();
      onClose(true);
    });
  };
  return (
    <Dialog title={title} onClose={() => onClose(false)} busy={busy}>
      <div class="stack">
        <p>{children}</p>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="button" class="button button-danger" disabled={busy} onClick={confirm}>
            {busy ? busyLabel : action}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
