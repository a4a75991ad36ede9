import { CopyButton } from './copy-button.js';

interface SecretRevealProps {
  secret: string;
  onDone: () => void;
  what?: string;
}

/**
 * The one moment a secret is visible. The parent holds it in state and drops it (sets null) on Done or
 * Escape, so it lives in memory only while this is on screen.
 */
export function SecretReveal({ secret, onDone, what = 'secret key' }: SecretRevealProps) {
  return (
    <div class="stack">
      <p>
        Please save this {what} somewhere safe and accessible. For security reasons, <strong>you won't be able to view it again</strong>{' '}
        through this dashboard. If you lose it, you'll need to generate a new one.
      </p>
      <div class="secret-row">
        <input
          class="input mono secret"
          readOnly
          value={secret}
          aria-label={`Your new ${what}`}
          data-testid="secret"
          spellcheck={false}
          autoComplete="off"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={secret} label="Copy" class="button button-primary" />
      </div>
      <div class="dialog-actions">
        <button type="button" class="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
