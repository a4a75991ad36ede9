import { useId, useState } from 'preact/hooks';
import { getAuthStatus, signIn, signUp } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import type { Account } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { AuthLayout } from './auth-layout.js';

/** Sign in; on a fresh instance, create the owner account instead. */
export function SignInPage({ onSignedIn }: { onSignedIn: (account: Account) => void }) {
  const status = useResource(() => getAuthStatus(), []);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [setupToken, setSetupToken] = useState('');
  const { error, busy, run, setError } = useAction();
  const ids = { name: useId(), email: useId(), password: useId(), setupToken: useId() };
  const firstRun = status.data?.owner_signup_open === true;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (firstRun && !setupToken.trim()) {
      setError('Enter the setup token: it was printed when the server started.');
      return;
    }
    if (firstRun && password.length < 8) {
      setError('Choose a password of at least 8 characters.');
      return;
    }
    await run(async () => {
      const account = firstRun
        ? await signUp({ email: email.trim(), password, setup_token: setupToken.trim(), ...(name.trim() ? { name: name.trim() } : {}) })
        : await signIn(email.trim(), password);
      setPassword('');
      setSetupToken('');
      onSignedIn(account);
    });
  };

  if (status.loading && !status.data && !status.error) return <AuthLayout title="Tollgate">{null}</AuthLayout>;
  return (
    <AuthLayout title={firstRun ? 'Create the owner account' : 'Sign in'}>
      {firstRun && <p class="muted">This Tollgate has no accounts yet. The first account owns the organization and can invite everyone else.</p>}
      <form class="stack" onSubmit={submit} noValidate>
        {firstRun && (
          <div class="field">
            <label for={ids.setupToken}>Setup token</label>
            <input
              id={ids.setupToken}
              class="input mono"
              autoComplete="off"
              spellcheck={false}
              required
              value={setupToken}
              onInput={(e) => setSetupToken(e.currentTarget.value)}
            />
            <p class="hint">
              Proves you run this server. It was printed when the server started, and is saved as <code>setup-token</code> in its data
              directory (<code>./data/setup-token</code> by default). Or create the owner on the server with{' '}
              <code>npx tollgate users create-owner --email …</code>
            </p>
          </div>
        )}
        {firstRun && (
          <div class="field">
            <label for={ids.name}>
              Name <span class="optional">Optional</span>
            </label>
            <input id={ids.name} class="input" autoComplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </div>
        )}
        <div class="field">
          <label for={ids.email}>Email</label>
          <input id={ids.email} class="input" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.password}>Password</label>
          <input
            id={ids.password}
            class="input"
            type="password"
            autoComplete={firstRun ? 'new-password' : 'current-password'}
            required
            minLength={firstRun ? 8 : undefined}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {firstRun && <p class="hint">At least 8 characters; long passphrases are welcome. Not a common password, nor your email.</p>}
        </div>
        <Alert message={error} />
        <button type="submit" class="button button-primary button-block" disabled={busy}>
          {busy ? 'Please wait…' : firstRun ? 'Create account' : 'Sign in'}
        </button>
      </form>
      {!firstRun && <p class="muted small">No account? Ask an organization owner for an invitation link.</p>}
    </AuthLayout>
  );
}
