import { useId, useState } from 'preact/hooks';
import { errorMessage } from '../../api.js';
import { lookupInvite, signUp } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { replaceRoute } from '../../router.js';
import type { Account } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { AuthLayout } from './auth-layout.js';

/** `#/accept?token=…`: join the organization with the invited email, a name and a password. */
export function AcceptInvitePage({ token, onSignedIn }: { token: string; onSignedIn: (account: Account) => void }) {
  const invite = useResource(() => lookupInvite(token), [token]);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { error, busy, run, setError } = useAction();
  const ids = { email: useId(), name: useId(), password: useId() };

  if (invite.error) {
    return (
      <AuthLayout title="Invitation not valid">
        <Alert message={errorMessage(invite.error)} />
        <p>
          Ask an organization owner for a new invitation, or <a href="#/api-keys">sign in</a> if you already have an account.
        </p>
      </AuthLayout>
    );
  }
  if (!invite.data) return <AuthLayout title="Checking your invitation…">{null}</AuthLayout>;
  const preview = invite.data;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (password.length < 8) {
      setError('Choose a password of at least 8 characters.');
      return;
    }
    await run(async () => {
      const account = await signUp({ email: preview.email, password, invite_token: token, ...(name.trim() ? { name: name.trim() } : {}) });
      // The token is spent: drop it from the address bar and history.
      replaceRoute('/api-keys');
      onSignedIn(account);
    });
  };

  return (
    <AuthLayout title={`Join ${preview.organization.name}`}>
      <p class="muted">
        You were invited as {preview.role === 'owner' ? 'an owner' : 'a reader'} of the organization
        {preview.projects.length > 0 && <>, and {preview.projects.map((p) => `${p.role} of ${p.name}`).join(', ')}</>}. Choose a password to create
        your account.
      </p>
      <form class="stack" onSubmit={submit} noValidate>
        <div class="field">
          <label for={ids.email}>Email</label>
          <input id={ids.email} class="input" type="email" autoComplete="username" readOnly value={preview.email} />
        </div>
        <div class="field">
          <label for={ids.name}>
            Name <span class="optional">Optional</span>
          </label>
          <input id={ids.name} class="input" autoComplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.password}>Password</label>
          <input
            id={ids.password}
            class="input"
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <p class="hint">At least 8 characters; long passphrases are welcome. Not a common password, nor your email.</p>
        </div>
        <Alert message={error} />
        <button type="submit" class="button button-primary button-block" disabled={busy}>
          {busy ? 'Please wait…' : 'Create account'}
        </button>
      </form>
    </AuthLayout>
  );
}
