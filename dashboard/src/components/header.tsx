import type { Account } from '../types.js';

const NAV = [
  { path: '/api-keys', label: 'API keys', keepsProject: true },
  { path: '/usage', label: 'Usage', keepsProject: false },
  { path: '/limits', label: 'Limits', keepsProject: true },
  { path: '/settings', label: 'Settings', keepsProject: true },
];

interface HeaderProps {
  account: Account;
  currentPath: string;
  projectId: string | null;
  onSignOut: () => void;
}

/** The top bar: brand, the four sections, and who is signed in. */
export function Header({ account, currentPath, projectId, onSignOut }: HeaderProps) {
  return (
    <header class="header">
      {/* A button, not href="#main": the hash holds the route. */}
      <button type="button" class="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <div class="header-inner">
        <span class="brand">
          <span class="brand-mark" aria-hidden="true">
            T
          </span>
          <span>Tollgate</span>
          <span class="org-name" title={account.organization.id}>
            {account.organization.name}
          </span>
        </span>
        <nav class="nav" aria-label="Main">
          {NAV.map((item) => (
            <a
              key={item.path}
              class="nav-link"
              href={`#${item.path}${item.keepsProject && projectId ? `?project=${encodeURIComponent(projectId)}` : ''}`}
              aria-current={currentPath === item.path ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div class="user">
          <span class="user-email" title={account.user.email}>
            {account.user.email}
          </span>
          <button type="button" class="button button-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
