// The API objects the dashboard reads: the server's own types (src/contract, src/core), imported type-only, so a change
// of a response on the server fails the dashboard's typecheck (`npm run typecheck`) instead of drifting. Vite erases
// these imports; nothing of the server is bundled. Only the dashboard's own views of them are declared here.

import type { AuditLogObject } from '../../src/core/audit-entry.js';
import type { KeyLimits } from '../../src/core/key-limits.js';
import type { ProjectApiKeyObject } from '../../src/contract/api-keys.js';

export type { Interval } from '../../src/core/periods.js';
export type { AccessLevel, PermissionsSpec as Permissions } from '../../src/core/permissions.js';
export type { OrgRole, ProjectRole } from '../../src/core/roles.js';
export type { ListPage } from '../../src/contract/lists.js';
export type { AccountObject as Account } from '../../src/contract/session.js';
export type { ProjectObject as Project } from '../../src/contract/projects.js';
export type {
  AdminApiKeyObject as AdminApiKey,
  CreatedAdminKey,
  CreatedProjectKey as CreatedKey,
  GraceEndedKey,
  KeyOrder,
  KeySearchPage,
  KeyStatus,
  RotatedProjectKey,
} from '../../src/contract/api-keys.js';
export type { CreatedServiceAccount, ServiceAccountObject as ServiceAccount } from '../../src/contract/service-accounts.js';
export type { ProjectUserObject as ProjectUser, UserObject as OrgUser } from '../../src/contract/users.js';
export type { CreatedInvite, InviteObject as Invite, InvitePreview } from '../../src/contract/invites.js';
export type { NamedObject, RefusalReport, Standing } from '../../src/contract/dashboard.js';
export type { ProjectSpendAlertObject as SpendAlert, ProjectSpendLimitObject as SpendLimit, RateLimitObject as RateLimit } from '../../src/contract/limits.js';
export type { CreatedWebhook, WebhookObject as Webhook } from '../../src/contract/webhooks.js';
export type { ProviderCredentialObject as ProviderCredential, RuntimeProviderObject as RuntimeProvider } from '../../src/contract/providers.js';

/**
 * A project key as the dashboard holds it: the API object, and, where the answer carried it (the key search, a
 * rotation, the end of a grace period), when the secret replaced by the last rotation stops working.
 */
export type ProjectApiKey = ProjectApiKeyObject & { previous_secret_expires_at?: number | null };

export type KeyRateLimits = NonNullable<KeyLimits['rate_limits']>;

/**
 * An audit log entry, with the members of its actor the dashboard reads (the server renders the actor from stored
 * JSON, core/audit-entry.ts's auditActor, so it types it loosely; these members are OpenAI's AuditLogActor's).
 */
export interface AuditLog extends AuditLogObject {
  actor: AuditActor | null;
  /** Who acted when no person or key did (actor null): the CLI on the server, Tollgate itself, a leak reporter. */
  tollgate_actor?: { type: string; id?: string; ip_address?: string };
}

type AuditActor = {
  type: string;
  session?: { user: { id?: string; email?: string }; ip_address?: string };
  api_key?: { id: string; type?: string; object?: string; user?: { id: string; email?: string }; service_account?: { id: string } };
  ip_address?: string;
};
