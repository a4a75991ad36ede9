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

/** A provider refused one of its credentials one kind of request that another credential served (set aside for it). */
export interface ProviderCredentialSetAside extends ProviderCredentialFailure {
  /** What it is set aside for: method, route and model (`POST /chat/completions gpt-4o`). */
  scope: string;
  forMs: number;
}

/**
 * Records a credential set aside for one kind of request: an audit entry and the organization's
 * `provider_credential.set_aside` webhooks, so that a key refused everything (an account banned with 403s, set aside
 * model by model) is seen. Once per credential and kind of request while the set-aside lasts, on each instance.
 */
export async function reportCredentialSetAside(deps: ServiceDeps, webhooks: Webhooks, orgId: string, e: ProviderCredentialSetAside): Promise<void> {
  const data = { provider: e.provider, credential: e.credential, status: e.status, scope: e.scope, for_seconds: Math.round(e.forMs / 1000) };
  await writeAudit(deps.database.db, deps, { orgId, type: 'provider_credential.set_aside', actor: { type: 'system', id: null }, objectId: e.credential, details: data });
  await webhooks.emit(orgId, 'provider_credential.set_aside', data);
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
