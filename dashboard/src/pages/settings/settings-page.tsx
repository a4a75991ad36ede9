import { isOwner, useSession } from '../../session.js';
import { AdminKeysSection } from './admin-keys-section.js';
import { AuditLogSection } from './audit-log-section.js';
import { MembersSection } from './members-section.js';
import { OrganizationSection } from './organization-section.js';
import { PasswordSection } from './password-section.js';
import { ProjectMembersSection } from './project-members-section.js';

/** Settings: IDs, your account, members and roles, admin keys and the audit log (the last two for owners). */
export function SettingsPage() {
  const { account } = useSession();
  const owner = isOwner(account);
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Settings</h1>
          <p class="lede">Your organization, its people, and the record of what they did.</p>
        </div>
      </div>
      <OrganizationSection />
      <PasswordSection />
      <MembersSection />
      <ProjectMembersSection />
      {owner && <AdminKeysSection />}
      {owner && <AuditLogSection />}
    </>
  );
}
