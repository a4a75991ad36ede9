import { writeAudit } from './audit.js';
import type { Executor, ServiceDeps } from './context.js';
import type { WebhookEmitter } from './webhooks.js';

/** A provider refused one of its credentials (the gateway disabled it and moved on to another). */
export interface ProviderCredentialFailure {
  provider: string;
  /** The credential's id: the name of the environment variable that holds it, never the key. */
  credential: string;
  status: number;
  /**
   * False when the credential stays in use: the provider said it is invalid with no other credential let through to
   * witness it (a provider's only key), and a client must not be able to take a provider's only key away.
   */
  disabled?: false;
}

/** A provider refused one of its credentials one kind of request that another credential served (set aside for it). */
export interface ProviderCredentialSetAside extends ProviderCredentialFailure {
  /** What it is set aside for: method, route and model (`POST /chat/completions gpt-4o`), or `*` (out of quota: every request). */
  scope: string;
  forMs: number;
}

/**
 * Records a credential set aside for one kind of request: an audit entry and the organization's
 * `provider_credential.set_aside` webhooks, so that a key refused everything (an account banned with 403s, set aside
 * model by model) is seen. `unreported`: the credential's set-asides since its last report that were not reported.
 */
export async function reportCredentialSetAside(deps: ServiceDeps, webhooks: WebhookEmitter, orgId: string, e: ProviderCredentialSetAside, unreported: number): Promise<void> {
  const data = { provider: e.provider, credential: e.credential, status: e.status, scope: e.scope, for_seconds: Math.round(e.forMs / 1000), earlier_unreported: unreported };
  // The entry and the event together: neither is written without the other.
  await deps.database.db.transaction().execute(async (trx) => {
    await writeAudit(trx, deps, { orgId, type: 'provider_credential.set_aside', actor: { type: 'system', id: null }, objectId: e.credential, details: data });
    await webhooks.emit(orgId, 'provider_credential.set_aside', data, trx);
  });
  webhooks.kick();
}

/** The shortest time between two reports of set-asides of one credential. */
export const SET_ASIDE_REPORT_INTERVAL_MS = 60_000;

/**
 * Paces the reports of set-asides: the first of a credential at once, then at most one a minute. A credential is set
 * aside once per kind of request (model and endpoint), and a client chooses the model it names: where a provider
 * answers an unknown model 404 with its other keys, one request per made-up model name would otherwise write one audit
 * entry and send one webhook each. The set-asides not reported are counted in the next report (and each is logged and
 * counted in /metrics).
 */
export class SetAsideReports {
  private readonly last = new Map<string, { atMs: number; unreported: number }>();

  constructor(
    private readonly clock: () => number,
    private readonly send: (e: ProviderCredentialSetAside, unreported: number) => Promise<void>,
    private readonly intervalMs = SET_ASIDE_REPORT_INTERVAL_MS,
  ) {}

  /** Reports `e` now (the send's promise), or counts it for the credential's next report (null). */
  add(e: ProviderCredentialSetAside): Promise<void> | null {
    const id = `${e.provider}\n${e.credential}`;
    const now = this.clock();
    const seen = this.last.get(id);
    if (seen && now - seen.atMs < this.intervalMs) {
      seen.unreported++;
      return null;
    }
    this.last.set(id, { atMs: now, unreported: 0 });
    return this.send(e, seen?.unreported ?? 0);
  }
}

const failureDetails = (failure: ProviderCredentialFailure) => ({
  provider: failure.provider,
  credential: failure.credential,
  status: failure.status,
  ...(failure.disabled === false ? { disabled: false } : {}),
});

/** The audit entry of a credential the provider refused, written with `db` (a runtime credential's: in the transaction that disables it). */
export async function auditCredentialFailure(db: Executor, deps: ServiceDeps, orgId: string, failure: ProviderCredentialFailure): Promise<void> {
  await writeAudit(db, deps, { orgId, type: 'provider_credential.failed', actor: { type: 'system', id: null }, objectId: failure.credential, details: failureDetails(failure) });
}

/** Queues the organization's `provider_credential.failed` webhooks of a refused credential, with `db` (its audit entry's transaction). */
export function announceCredentialFailure(webhooks: WebhookEmitter, orgId: string, failure: ProviderCredentialFailure, db: Executor): Promise<void> {
  return webhooks.emit(orgId, 'provider_credential.failed', failureDetails(failure), db);
}

/**
 * Records a config file's credential the provider refused: an audit entry and the webhooks. Each instance disables a
 * file's credential on its own, so each reports it once (a runtime credential is audited with its disabling, in
 * RuntimeProviders.markRefused, and only announced).
 */
export async function reportCredentialFailure(deps: ServiceDeps, webhooks: WebhookEmitter, orgId: string, failure: ProviderCredentialFailure): Promise<void> {
  await deps.database.db.transaction().execute(async (trx) => {
    await auditCredentialFailure(trx, deps, orgId, failure);
    await announceCredentialFailure(webhooks, orgId, failure, trx);
  });
  webhooks.kick();
}
