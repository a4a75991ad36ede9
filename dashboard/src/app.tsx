import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, onSessionEnded, setCsrfToken } from './api.js';
import { listAll } from './api-lists.js';
import { Header } from './components/header.js';
import { ApiKeysPage } from './pages/api-keys/api-keys-page.js';
import { AcceptInvitePage } from './pages/auth/accept-invite-page.js';
import { AuthLayout } from './pages/auth/auth-layout.js';
import { SignInPage } from './pages/auth/sign-in-page.js';
import { LimitsPage } from './pages/limits/limits-page.js';
import { SettingsPage } from './pages/settings/settings-page.js';
import { UsagePage } from './pages/usage/usage-page.js';
import { replaceParam, type Route, useRoute } from './router.js';
import { SessionContext, type SessionState } from './session.js';
import type { Account, Project } from './types.js';
import { useResource } from './use-resource.js';

const PAGES: Record<string, { title: string; render: () => JSX.Element }> = {
  '/api-keys': { title: 'API keys', render: () => <ApiKeysPage /> },
  '/usage': { title: 'Usage', render: () => <UsagePage /> },
  '/limits': { title: 'Limits', render: () => <LimitsPage /> },
  '/settings': { title: 'Settings', render: () => <SettingsPage /> },
};

/** The dashboard: who is signed in decides between the sign-in pages and the signed-in shell. */
export function App() {
  const route = useRoute();
  // undefined while /auth/me is in flight; null when signed out.
  const [account, setAccount] = useState<Account | null | undefined>(undefined);

  const signedIn = useCallback((a: Account) => {
    setCsrfToken(a.csrf_token);
    setAccount(a);
  }, []);
  const signedOut = useCallback(() => {
    setCsrfToken(null);
    setAccount(null);
  }, []);

  useEffect(() => {
    onSessionEnded(signedOut);
    api<Account>('GET', '/auth/me').then(signedIn, signedOut);
  }, [signedIn, signedOut]);

  const signOut = useCallback(async () => {
    await api('POST', '/auth/logout').catch(() => undefined);
    signedOut();
  }, [signedOut]);

  if (account === undefined) return <p class="boot">Loading Tollgate…</p>;
  if (route.path === '/accept') {
    const token = route.params.get('token') ?? '';
    if (!account) return <AcceptInvitePage token={token} onSignedIn={signedIn} />;
    return (
      <AuthLayout title="You are already signed in">
        <p>
          You are signed in as <strong>{account.user.email}</strong>. To accept this invitation with another account, sign out first.
        </p>
        <button type="button" class="button button-primary" onClick={signOut}>
          Sign out
        </button>
      </AuthLayout>
    );
  }
  if (!account) return <SignInPage onSignedIn={signedIn} />;
  return <Shell account={account} route={route} onSignOut={signOut} />;
}

function Shell({ account, route, onSignOut }: { account: Account; route: Route; onSignOut: () => void }) {
  const projects = useResource(() => listAll<Project>('/v1/organization/projects'), [account.user.id]);
  const [selected, setSelected] = useState<string | null>(route.params.get('project'));
  const fromUrl = route.params.get('project');
  useEffect(() => {
    if (fromUrl) setSelected(fromUrl);
  }, [fromUrl]);

  const list = projects.data ?? [];
  const projectId = useMemo(() => {
    if (selected && list.some((p) => p.id === selected)) return selected;
    // Default to a project the user works in, else the first one.
    const mine = list.find((p) => account.projects.some((m) => m.id === p.id));
    return (mine ?? list[0])?.id ?? null;
  }, [selected, list, account]);

  const page = PAGES[route.path];
  useEffect(() => {
    document.title = `${page?.title ?? 'Not found'} · Tollgate`;
  }, [page]);

  const session: SessionState = {
    account,
    projects: list,
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
      <Header account={account} currentPath={route.path} projectId={projectId} onSignOut={onSignOut} />
      <main class="main" id="main" tabIndex={-1}>
        {projects.loading && !projects.data ? (
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
      </main>
    </SessionContext.Provider>
  );
}
