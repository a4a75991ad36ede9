import type { JSX } from 'preact';
import { isOwner, useSession } from '../../session.js';
import { AdminKeysSection } from './admin-keys-section.js';
import { AuditLogSection } from './audit-log-section.js';
import { MembersSection } from './members-section.js';
import { OrganizationSection } from './organization-section.js';
import { PasswordSection } from './password-section.js';
import { ProjectMembersSection } from './project-members-section.js';
import { ProvidersSection } from './providers-section.js';
import { ServiceAccountsSection } from './service-accounts-section.js';

interface Section {
  id: string;
  label: string;
  ownersOnly?: boolean;
  render: () => JSX.Element;
}

const SECTIONS: Section[] = [
  { id: 'organization', label: 'Organization and projects', render: () => <OrganizationSection /> },
  { id: 'members', label: 'Members', render: () => <MembersSection /> },
  { id: 'project-members', label: 'Project members', render: () => <ProjectMembersSection /> },
  { id: 'service-accounts', label: 'Service accounts', render: () => <ServiceAccountsSection /> },
  { id: 'admin-keys', label: 'Admin keys', ownersOnly: true, render: () => <AdminKeysSection /> },
  { id: 'providers', label: 'Providers', ownersOnly: true, render: () => <ProvidersSection /> },
  { id: 'audit-log', label: 'Audit log', ownersOnly: true, render: () => <AuditLogSection /> },
  { id: 'account', label: 'Your account', render: () => <PasswordSection /> },
];

/** Settings, one section at a time with its own navigation: the organization, people, service accounts, admin keys, providers, the audit log, your account. */
export function SettingsPage({ section }: { section: string | null }) {
  const { account, projectId } = useSession();
  const owner = isOwner(account);
  const visible = SECTIONS.filter((s) => owner || !s.ownersOnly);
  const current = visible.find((s) => s.id === section) ?? visible[0];
  const query = projectId ? `?project=${encodeURIComponent(projectId)}` : '';
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Settings</h1>
          <p class="lede">Your organization, its people and service accounts, and the record of what they did.</p>
        </div>
      </div>
      <div class="settings-layout">
        <nav class="settings-nav" aria-label="Settings sections">
          <ul>
            {visible.map((s) => (
              <li key={s.id}>
                <a href={`#/settings/${s.id}${query}`} aria-current={s.id === current.id ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="settings-body">{current.render()}</div>
      </div>
    </>
  );
}
