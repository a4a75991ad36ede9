import { writeAudit } from './audit.js';
import type { ServiceDeps } from './context.js';
import type { Webhooks } from './webhooks.js';

/** A provider refused one of its credentials (the gateway disabled it and moved on to another). */
export interface ProviderCredentialFailure {
  provider: string;
  /** The credential's id: the name of the environment variable that holds it, never the key. */
  credential: string;
  status: number;
}

/**
 * Records a credential the provider refused: an audit entry and the organization's `provider_credential.failed`
 * webhooks. Each instance disables the credential on its own, so each reports it once.
 */
export async function reportCredentialFailure(deps: ServiceDeps, webhooks: Webhooks, orgId: string, failure: ProviderCredentialFailure): Promise<void> {
  const data = { provider: failure.provider, credential: failure.credential, status: failure.status };
  await writeAudit(deps.database.db, deps, { orgId, type: 'provider_credential.failed', actor: { type: 'system', id: null }, objectId: failure.credential, details: data });
  await webhooks.emit(orgId, 'provider_credential.failed', data);
}
