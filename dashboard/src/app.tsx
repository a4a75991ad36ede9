import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, onSessionEnded, setCsrfToken } from './api.js';
import { getMe, listProjects, signOut as apiSignOut } from './api-client.js';
import { Header } from './components/header.js';
import { FailureScope, LoadError } from './components/load-error.js';
import { SecretOutlet } from './components/secret-reveal.js';
import { ApiKeysPage } from './pages/api-keys/api-keys-page.js';
import { KeyPage } from './pages/api-keys/key-page.js';
import { AcceptInvitePage } from './pages/auth/accept-invite-page.js';
import { AuthLayout } from './pages/auth/auth-layout.js';
import { SignInPage } from './pages/auth/sign-in-page.js';
import { LimitsPage } from './pages/limits/limits-page.js';
import { SettingsPage } from './pages/settings/settings-page.js';
import { UsagePage } from './pages/usage/usage-page.js';
import { replaceParam, type Route, useRoute } from './router.js';
import { SessionContext, type SessionState } from './session.js';
import type { Account } from './types.js';
import { useResource } from './use-resource.js';

interface Page {
  title: string;
  /** The header's section. */
  section: string;
  render: () => JSX.Element;
}

/** The page of a route path, or null (not found). */
function pageFor(path: string): Page | null {
  if (path === '/api-keys') return { title: 'API keys', section: '/api-keys', render: () => <ApiKeysPage /> };
  const key = /^\/api-keys\/(key_[A-Za-z0-9]+)$/.exec(path);
  if (key) return { title: 'API key', section: '/api-keys', render: () => <KeyPage keyId={key[1]} /> };
  if (path === '/usage') return { title: 'Usage', section: '/usage', render: () => <UsagePage /> };
  if (path === '/limits') return { title: 'Limits', section: '/limits', render: () => <LimitsPage /> };
  const settings = /^\/settings(?:\/([a-z-]+))?$/.exec(path);
  if (settings) return { title: 'Settings', section: '/settings', render: () => <SettingsPage section={settings[1] ?? null} /> };
  return null;
}

type Boot = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; account: Account | null };

/** The dashboard: who is signed in decides between the sign-in pages and the signed-in shell. */
export function App() {
  const route = useRoute();
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  // Why the last sign-out failed (the session is still valid then), or null.
  const [signOutError, setSignOutError] = useState<string | null>(null);

  const signedIn = useCallback((a: Account) => {
    setCsrfToken(a.csrf_token);
    setBoot({ state: 'ready', account: a });
  }, []);
  const signedOut = useCallback(() => {
    setCsrfToken(null);
    setSignOutError(null);
    setBoot({ state: 'ready', account: null });
  }, []);

  // Only a 401 means "signed out": any other failure (a 503 while the database is down, no network) is an error to
  // retry, not a reason to show a signed-in user the sign-in form.
  const load = useCallback(() => {
    setBoot({ state: 'loading' });
    getMe().then(signedIn, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) signedOut();
      else setBoot({ state: 'failed', message: errorMessage(err) });
    });
  }, [signedIn, signedOut]);

  useEffect(() => {
    onSessionEnded(signedOut);
    load();
  }, [signedOut, load]);

  // Signed out only once the server says so (or answers 401: the session had already ended). A failed sign-out (a 503
  // while the database is down, no network) showed the sign-in form while the session stayed valid, a reload signed
  // in again: it now says so, with Retry, and the page stays.
  const signOut = useCallback(async () => {
    setSignOutError(null);
    try {
      await apiSignOut();
      signedOut();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) signedOut();
      else setSignOutError(errorMessage(err));
    }
  }, [signedOut]);
  const signOutFailure = signOutError ? <SignOutFailed message={signOutError} retry={signOut} /> : null;

  if (boot.state === 'loading') return <p class="boot">Loading Tollgate…</p>;
  if (boot.state === 'failed') {
    return (
      <AuthLayout title="Tollgate could not load">
        <p class="alert" role="alert">
          {boot.message}
        </p>
        <p class="muted">The server did not answer as expected. Your session is kept; try again in a moment.</p>
        <button type="button" class="button button-primary" onClick={load}>
          Retry
        </button>
      </AuthLayout>
    );
  }
  const account = boot.account;
  if (route.path === '/accept') {
    const token = route.params.get('token') ?? '';
    if (!account) return <AcceptInvitePage token={token} onSignedIn={signedIn} />;
    return (
      <AuthLayout title="You are already signed in">
        <p>
          You are signed in as <strong>{account.user.email}</strong>. To accept this invitation with another account, sign out first.
        </p>
        {signOutFailure}
        <button type="button" class="button button-primary" onClick={signOut}>
          Sign out
        </button>
      </AuthLayout>
    );
  }
  if (!account) return <SignInPage onSignedIn={signedIn} />;
  return <Shell account={account} route={route} onSignOut={signOut} onAccount={signedIn} notice={signOutFailure} />;
}

/** A sign-out the server did not do: the session is still valid. */
function SignOutFailed({ message, retry }: { message: string; retry: () => void }) {
  return (
    <div class="banner banner-danger" role="alert">
      <p>Signing out failed: {message} You are still signed in.</p>
      <button type="button" class="button button-small" onClick={retry}>
        Retry
      </button>
    </div>
  );
}

/** Whether two accounts differ in what the pages decide on: roles and project memberships. */
function rolesChanged(a: Account, b: Account): boolean {
  const projects = (x: Account) => JSON.stringify(x.projects.map((p) => [p.id, p.role, p.name]));
  return a.role !== b.role || projects(a) !== projects(b) || a.csrf_token !== b.csrf_token;
}

interface ShellProps {
  account: Account;
  route: Route;
  onSignOut: () => void;
  onAccount: (a: Account) => void;
  /** Shown above every page (a failed sign-out). */
  notice: JSX.Element | null;
}

function Shell({ account, route, onSignOut, onAccount, notice }: ShellProps) {
  const projects = useResource(() => listProjects(), [account.user.id, account.role, account.projects.length], { keepStale: true });
  const [selected, setSelected] = useState<string | null>(route.params.get('project'));
  const fromUrl = route.params.get('project');
  useEffect(() => {
    if (fromUrl) setSelected(fromUrl);
  }, [fromUrl]);

  // A role changed by an owner elsewhere shows at the next navigation (or when the tab comes back to the front),
  // without a reload: the session and the projects are read again and the pages re-render with them.
  const checking = useRef(false);
  const accountRef = useRef(account);
  accountRef.current = account;
  const reloadProjects = projects.reload;
  const recheck = useCallback(() => {
    if (checking.current) return;
    checking.current = true;
    getMe()
      .then(
        (fresh) => {
          if (rolesChanged(accountRef.current, fresh)) onAccount(fresh);
        },
        () => undefined,
      )
      .finally(() => {
        checking.current = false;
      });
    reloadProjects();
  }, [onAccount, reloadProjects]);
  const firstPath = useRef(true);
  useEffect(() => {
    // Not at the first render: the session and projects were just read.
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    recheck();
  }, [route.path]);
  useEffect(() => {
    const onVisible = () => document.visibilityState === 'visible' && recheck();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [recheck]);

  const list = projects.data ?? [];
  const active = useMemo(() => list.filter((p) => p.status !== 'archived'), [list]);
  const projectId = useMemo(() => {
    if (selected && list.some((p) => p.id === selected)) return selected;
    // Default to a project the user works in, else the first active one.
    const mine = active.find((p) => account.projects.some((m) => m.id === p.id));
    return (mine ?? active[0] ?? list[0])?.id ?? null;
  }, [selected, list, active, account]);

  const page = pageFor(route.path);
  useEffect(() => {
    document.title = `${page?.title ?? 'Not found'} · Tollgate`;
  }, [page?.title]);

  const session: SessionState = {
    account,
    projects: active,
    allProjects: list,
    projectId,
    selectProject: (id) => {
      setSelected(id);
      replaceParam('project', id);
    },
    reloadProjects: projects.reload,
    signOut: onSignOut,
  };

  return (
    <SessionContext.Provider value={session}>
      {/* Above every page: a new secret is shown even when the page that asked for it was left meanwhile. */}
      <SecretOutlet>
        <Header account={account} currentPath={page?.section ?? route.path} projectId={projectId} onSignOut={onSignOut} />
        <main class="main" id="main" tabIndex={-1}>
          {notice}
          <FailureScope key={route.path}>
            {/* A failed reload keeps the pages on the projects read before (with the error and a Retry). */}
            <LoadError error={projects.error} retry={projects.reload} what="projects" />
            {projects.error && !projects.data ? null : projects.loading && !projects.data ? (
              <p class="muted">Loading…</p>
            ) : page ? (
              page.render()
            ) : (
              <div class="empty">
                <h1>Page not found</h1>
                <p>
                  <a href="#/api-keys">Go to API keys</a>
                </p>
              </div>
            )}
          </FailureScope>
        </main>
      </SecretOutlet>
    </SessionContext.Provider>
  );
}
