import { useId, useState } from 'preact/hooks';
import { setCsrfToken } from '../../api.js';
import { changePassword } from '../../api-client.js';
import { Alert, Notice } from '../../components/alert.js';
import { useSession } from '../../session.js';
import { useAction } from '../../use-action.js';

/** Your account, and changing your password (which signs out your other browsers). */
export function PasswordSection() {
  const { account } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const { error, run, setError } = useAction();
  const [done, setDone] = useState<string | null>(null);
  const ids = { current: useId(), next: useId(), confirm: useId() };
  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(null);
    if (next.length < 8) return setError('The new password must be at least 8 characters.');
    if (next !== confirm) return setError('The new passwords do not match.');
    await run(async () => {
      const fresh = await changePassword(current, next);
      // The server rotated the session: the old CSRF token went with it.
      setCsrfToken(fresh.csrf_token);
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone('Password changed. Your other sessions were signed out.');
    });
  };
  return (
    <section class="card" aria-labelledby="account-title">
      <h2 id="account-title">Your account</h2>
      <dl class="facts">
        <dt>Email</dt>
        <dd>{account.user.email}</dd>
        <dt>Role</dt>
        <dd>{account.role === 'owner' ? 'Owner' : 'Reader'}</dd>
      </dl>
      <form class="stack narrow" onSubmit={submit}>
        <h3>Change password</h3>
        <input type="text" name="username" autoComplete="username" value={account.user.email} hidden readOnly />
        <div class="field">
          <label for={ids.current}>Current password</label>
          <input id={ids.current} class="input" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.next}>New password</label>
          <input id={ids.next} class="input" type="password" autoComplete="new-password" minLength={8} required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
          <p class="hint">At least 8 characters; long passphrases are welcome. Not a common password, nor your email.</p>
        </div>
        <div class="field">
          <label for={ids.confirm}>Confirm new password</label>
          <input id={ids.confirm} class="input" type="password" autoComplete="new-password" required value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </div>
        <Alert message={error} />
        {done && <Notice message={done} />}
        <div>
          <button type="submit" class="button button-primary">
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
