import type { ProviderKind } from '../config/gateway-config.js';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { SecretCipher } from '../core/ports.js';
import { writeAudit } from './audit.js';
import { changedMembers, changesAnything } from './changed-members.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { auditCredentialFailure, type ProviderCredentialFailure } from './provider-credentials.js';
import { markRemoved } from './list-removals.js';
import { openProviderCredential, providerCredentialContext } from './sealed-secrets.js';
import { afterSeq, type ListPage, toPage } from './pagination.js';
import { pageOf } from './query-params.js';
import type { ProviderCredentialObject, ProviderKindName, RuntimeProviderObject } from '../contract/providers.js';

export type { ProviderCredentialObject, RuntimeProviderObject } from '../contract/providers.js';

// The contract's kinds are the configuration's, both ways.
const _sameKinds: [ProviderKind, ProviderKindName] extends [ProviderKindName, ProviderKind] ? true : never = true;
void _sameKinds;

import type { AddCredentialBody, CreateProviderBody, ListProvidersQuery, RotateCredentialBody, UpdateProviderBody } from './runtime-provider-input.js';

// Providers and their credentials managed at run time (issue 20 §3, docs/providers.md): beside the config file's, in
// the same routing and credential pool. A credential's secret is sealed (core/ports.ts SecretCipher) before it is
// stored and is never answered, written to an audit entry or logged: only its redacted form is.

/** Names no runtime provider may take besides the config file's: the built-in echo model's. */
const RESERVED_NAMES = ['echo'];

/** A runtime provider as the gateway uses it: its usable credentials opened, those that would not open named. */
export interface RuntimeProviderRecord {
  id: string;
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  models: string[];
  modelPrefixes: string[];
  apiVersion: string | null;
  deployments: Record<string, string>;
  /** Active credentials whose secret opened, in creation order. */
  credentials: Array<{ id: string; apiKey: string; weight: number }>;
  /** Active credentials whose secret did not open (another TOLLGATE_SECRET, or tampered with): ids only. */
  unreadable: string[];
  /** Credentials stored for it, whatever their status: a provider with some but none usable is refused, not sent keyless. */
  stored: number;
}

type ProviderRow = {
  id: string;
  name: string;
  kind: string;
  base_url: string;
  models: string;
  model_prefixes: string;
  api_version: string | null;
  deployments: string | null;
  created_at: number;
  updated_at: number;
};
type CredentialRow = {
  id: string;
  provider_id: string;
  secret_ciphertext: string;
  redacted_value: string;
  weight: number;
  status: string;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
  rotated_at: number | null;
};

const toProvider = (r: ProviderRow): RuntimeProviderObject => ({
  object: 'organization.provider',
  id: r.id,
  name: r.name,
  kind: r.kind as ProviderKind,
  base_url: r.base_url,
  models: JSON.parse(r.models),
  model_prefixes: JSON.parse(r.model_prefixes),
  api_version: r.api_version,
  deployments: r.deployments === null ? null : JSON.parse(r.deployments),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
});

/**
 * A credential as the API shows it; `opens` false when its stored key does not open bound to its provider as it is
 * now (another TOLLGATE_SECRET, or its row or provider changed in the database): shown unusable, as the gateway treats it.
 */
const toCredential = (r: CredentialRow, opens = true): ProviderCredentialObject => ({
  object: 'organization.provider.credential',
  id: r.id,
  provider_id: r.provider_id,
  redacted_value: r.redacted_value,
  weight: Number(r.weight),
  status: r.status === 'disabled' || !opens ? 'disabled' : 'active',
  disabled_reason: !opens ? 'undecryptable' : r.status === 'disabled' ? ((r.disabled_reason as 'manual' | 'upstream_refused' | null) ?? 'manual') : null,
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
  rotated_at: r.rotated_at === null ? null : Number(r.rotated_at),
});

/**
 * A provider key's kind prefix: 2-5 lower-case letters and a `-` or `_` (`sk-`, `gsk_`, `xai-`, `hf_`, `pplx-`),
 * with at most one more such word of 2-7 letters before the same separator (`sk-ant-`, `sk-proj-`), or Google's
 * fixed `AIza`. Nothing longer or in capitals: a random (base64url) secret may start with letters and a separator
 * by chance, and those letters are the secret's.
 */
const KIND_PREFIX = /^(?:AIza|[a-z]{2,5}([-_])(?:[a-z]{2,7}\1)?)/;

/**
 * The display form of a provider key: its kind prefix when it has one, and its last four characters when it is long
 * enough for them not to give much away (OpenAI's `sk-…abcd`, Groq's `gsk_…abcd`).
 */
export function redactSecret(secret: string): string {
  const tail = secret.length >= 16 ? secret.slice(-4) : '';
  const prefix = KIND_PREFIX.exec(secret)?.[0] ?? '';
  return `${prefix.length + 12 <= secret.length ? prefix : ''}…${tail}`;
}

/** What a kind of provider cannot take (the config file's rules, docs/providers.md), or null. */
function kindProblem(kind: ProviderKind, apiVersion: string | null, deployments: Record<string, string> | null): [string, string] | null {
  if (kind === 'azure-openai' && !apiVersion) return ['an azure-openai provider needs api_version (e.g. 2024-10-21)', 'api_version'];
  if (deployments && Object.keys(deployments).length > 0 && kind !== 'azure-openai') return ['deployments are for azure-openai providers', 'deployments'];
  return null;
}

/** The runtime providers use cases; `reservedNames` are the config file's providers (a runtime one may not clash). */
/** The gateway's own writes (a credential the provider refused): the system acts, and is not asked. */
const SYSTEM: Actor = { type: 'system', id: null };

export class RuntimeProviders {
  /** Awaited after each write: the gateway's directory reloading, so that this instance's next request sees it. */
  private readonly settlers: Array<() => Promise<void>> = [];

  constructor(
    private readonly deps: ServiceDeps,
    private readonly cipher: SecretCipher,
    private readonly reservedNames: readonly string[],
  ) {}

  async list(orgId: string, query: ListProvidersQuery): Promise<ListPage<RuntimeProviderObject>> {
    const { limit, after } = pageOf(query);
    const db = this.deps.database.db;
    let q = db.selectFrom('runtime_providers').selectAll().where('org_id', '=', orgId);
    const from = await afterSeq(db, 'runtime_providers', after, 'provider', {}, { list: 'runtime_providers', scopeId: orgId });
    if (from !== null) q = q.where('seq', '>', from);
    return toPage((await q.orderBy('seq').limit(limit + 1).execute()).map(toProvider), limit);
  }

  async get(orgId: string, id: string): Promise<RuntimeProviderObject> {
    return toProvider(await this.providerRow(orgId, id));
  }

  async create(orgId: string, body: CreateProviderBody, actor: Actor): Promise<RuntimeProviderObject> {
    const kind = body.kind ?? 'openai';
    const problem = kindProblem(kind, body.api_version ?? null, body.deployments ?? null);
    if (problem) throw new TollgateError('invalid_value', `Invalid value for '${problem[1]}': ${problem[0]}.`, problem[1]);
    await this.checkName(orgId, body.name, null);
    const id = newId('prov_', this.deps.randomBytes);
    const now = nowSeconds(this.deps);
    const row = {
      id,
      org_id: orgId,
      name: body.name,
      kind,
      base_url: body.base_url.replace(/\/+$/, ''),
      models: JSON.stringify(body.models ?? []),
      model_prefixes: JSON.stringify(body.model_prefixes ?? []),
      api_version: body.api_version ?? null,
      deployments: body.deployments ? JSON.stringify(body.deployments) : null,
      created_at: now,
      updated_at: now,
    };
    await this.write(id, actor, async (trx) => {
      await nameClash(body.name, trx.insertInto('runtime_providers').values(row).execute());
      const { object: _object, ...data } = toProvider(row);
      await writeAudit(trx, this.deps, { orgId, type: 'provider.created', actor, objectId: id, details: { data } });
    });
    return toProvider(row);
  }

  async update(orgId: string, id: string, body: UpdateProviderBody, actor: Actor): Promise<RuntimeProviderObject> {
    const current = toProvider(await this.providerRow(orgId, id));
    const kind = body.kind ?? current.kind;
    const apiVersion = body.api_version === undefined ? current.api_version : body.api_version;
    const deployments = body.deployments === undefined ? current.deployments : body.deployments;
    const problem = kindProblem(kind, apiVersion, deployments);
    if (problem) throw new TollgateError('invalid_value', `Invalid value for '${problem[1]}': ${problem[0]}.`, problem[1]);
    if (body.name !== undefined && body.name !== current.name) await this.checkName(orgId, body.name, id);
    const patch = {
      name: body.name ?? current.name,
      kind,
      base_url: body.base_url !== undefined ? body.base_url.replace(/\/+$/, '') : current.base_url,
      models: JSON.stringify(body.models ?? current.models),
      model_prefixes: JSON.stringify(body.model_prefixes ?? current.model_prefixes),
      api_version: apiVersion,
      deployments: deployments ? JSON.stringify(deployments) : null,
      updated_at: nowSeconds(this.deps),
    };
    // A provider's keys are sent only where they were added for: not to another server, nor another path on it (a
    // shared host serves many tenants by path, as Cloudflare's AI Gateway does by account).
    // Members sent with the value they have are no change: an update that changes nothing writes nothing and no entry.
    const changed = changedMembers({ ...body, ...(body.base_url !== undefined ? { base_url: patch.base_url } : {}) }, current);
    if (!changesAnything(changed)) return current;
    const moves = patch.base_url !== current.base_url;
    let updated: ProviderRow | undefined;
    await this.write(id, actor, async (trx) => {
      // Only over the base URL it was read with: the check below is about that one.
      updated = await nameClash(patch.name, trx.updateTable('runtime_providers').set(patch).where('id', '=', id).where('base_url', '=', current.base_url).returningAll().executeTakeFirst());
      if (!updated) {
        if (!(await trx.selectFrom('runtime_providers').select('id').where('id', '=', id).executeTakeFirst())) throw providerNotFound(id);
        throw new TollgateError('conflict', 'The provider was changed while this change was made; read it again and retry.', 'base_url');
      }
      // Counted after the update, which holds the provider's row: a key being added waits for it (addCredential).
      if (moves && (await trx.selectFrom('provider_credentials').select('id').where('provider_id', '=', id).limit(1).executeTakeFirst())) {
        throw new TollgateError(
          'conflict',
          "Invalid value for 'base_url': the provider holds keys, which would be sent to the new URL. Delete its keys first (or add another provider), then add them again.",
          'base_url',
        );
      }
      await writeAudit(trx, this.deps, { orgId, type: 'provider.updated', actor, objectId: id, details: { changes_requested: changed } });
    });
    // The row as written (read back afterwards, a delete right after would answer 404 for a change that was made).
    return toProvider(updated as ProviderRow);
  }

  /** Deletes a provider and its credentials. */
  async delete(orgId: string, id: string, actor: Actor) {
    const row = await this.providerRow(orgId, id);
    await this.write(id, actor, async (trx) => {
      // The provider's row first: a credential being added holds it (addCredential), and is then committed and seen
      // by the credentials' delete below, never left stored under no provider.
      const done = await trx.deleteFrom('runtime_providers').where('id', '=', id).returning('seq').executeTakeFirst();
      if (!done) throw providerNotFound(id);
      await markRemoved(trx, 'runtime_providers', orgId, id, { seq: Number(done.seq) }, nowSeconds(this.deps));
      await trx.deleteFrom('provider_credentials').where('provider_id', '=', id).execute();
      await writeAudit(trx, this.deps, { orgId, type: 'provider.deleted', actor, objectId: id, details: { data: { name: row.name } } });
    });
    return { object: 'organization.provider.deleted' as const, id, deleted: true as const };
  }

  async listCredentials(orgId: string, providerId: string, query: ListProvidersQuery): Promise<ListPage<ProviderCredentialObject>> {
    const { limit, after } = pageOf(query);
    const provider = await this.providerRow(orgId, providerId);
    const db = this.deps.database.db;
    let q = db.selectFrom('provider_credentials').selectAll().where('provider_id', '=', providerId);
    const from = await afterSeq(db, 'provider_credentials', after, 'credential', { provider_id: providerId }, { list: 'provider_credentials', scopeId: providerId });
    if (from !== null) q = q.where('seq', '>', from);
    return toPage((await q.orderBy('seq').limit(limit + 1).execute()).map((r) => this.shown(r, provider)), limit);
  }

  async getCredential(orgId: string, providerId: string, id: string): Promise<ProviderCredentialObject> {
    const { row, provider } = await this.credentialAndProvider(orgId, providerId, id);
    return this.shown(row, provider);
  }

  /** Adds a credential; the answer has its redacted form only (the caller already has the secret). */
  async addCredential(orgId: string, providerId: string, body: AddCredentialBody, actor: Actor): Promise<ProviderCredentialObject> {
    await this.providerRow(orgId, providerId);
    const id = newId('pcred_', this.deps.randomBytes);
    const now = nowSeconds(this.deps);
    const row = {
      id,
      org_id: orgId,
      provider_id: providerId,
      secret_ciphertext: '',
      redacted_value: redactSecret(body.value),
      weight: body.weight ?? 1,
      status: 'active',
      disabled_reason: null,
      created_at: now,
      updated_at: now,
      rotated_at: null,
    };
    await this.write(providerId, actor, async (trx) => {
      // Sealed bound to the base URL the held row has: the one its key is sent to (a change of it waits, then is refused).
      const baseUrl = await this.holdProvider(trx, orgId, providerId);
      row.secret_ciphertext = this.cipher.seal(body.value, providerCredentialContext(id, providerId, baseUrl));
      await trx.insertInto('provider_credentials').values(row).execute();
      await writeAudit(trx, this.deps, { orgId, type: 'provider_credential.created', actor, objectId: id, details: { data: { provider_id: providerId, redacted_value: row.redacted_value, weight: row.weight } } });
    });
    return toCredential(row);
  }

  /**
   * Replaces a credential's secret at once: the gateway's next request uses the new one (and a credential the provider
   * refused is active again: the refusal was of the old key).
   */
  async rotateCredential(orgId: string, providerId: string, id: string, body: RotateCredentialBody, actor: Actor): Promise<ProviderCredentialObject> {
    const { row: before, provider } = await this.credentialAndProvider(orgId, providerId, id);
    const now = nowSeconds(this.deps);
    const redacted = redactSecret(body.value);
    // Bound to the base URL read above: it cannot change while the provider holds this key (update's 409).
    const sealed = this.cipher.seal(body.value, providerCredentialContext(id, providerId, provider.base_url));
    let rotated: CredentialRow | undefined;
    await this.write(providerId, actor, async (trx) => {
      rotated = await trx
        .updateTable('provider_credentials')
        .set((eb) => {
          // The provider refused the old key, not this one: a credential it refused is active again (one disabled by
          // hand stays so).
          const refused = eb('status', '=', 'disabled').and('disabled_reason', '=', 'upstream_refused');
          return {
            secret_ciphertext: sealed,
            redacted_value: redacted,
            updated_at: now,
            rotated_at: now,
            status: eb.case().when(refused).then('active').else(eb.ref('status')).end(),
            disabled_reason: eb.case().when(refused).then(null).else(eb.ref('disabled_reason')).end(),
          };
        })
        .where('id', '=', id)
        .where('provider_id', '=', providerId)
        .returningAll()
        .executeTakeFirst();
      if (!rotated) throw credentialNotFound(id);
      await writeAudit(trx, this.deps, { orgId, type: 'provider_credential.rotated', actor, objectId: id, details: { data: { provider_id: providerId, previous_redacted_value: before.redacted_value, redacted_value: redacted } } });
    });
    return toCredential(rotated as CredentialRow);
  }

  /** Disables or enables a credential (enabling also clears a refusal the gateway saw). */
  async setCredentialStatus(orgId: string, providerId: string, id: string, status: 'active' | 'disabled', actor: Actor): Promise<ProviderCredentialObject> {
    const { row: before, provider } = await this.credentialAndProvider(orgId, providerId, id);
    const reason = status === 'disabled' ? 'manual' : null;
    // Already so (enabled, or disabled by hand): no change, nothing written and no entry.
    if (before.status === status && before.disabled_reason === reason) return this.shown(before, provider);
    let changed: CredentialRow | undefined;
    await this.write(providerId, actor, async (trx) => {
      // Only a row not already so: of two disables at once, one changes it and is audited.
      changed = await trx
        .updateTable('provider_credentials')
        .set({ status, disabled_reason: reason, updated_at: nowSeconds(this.deps) })
        .where('id', '=', id)
        .where('provider_id', '=', providerId)
        .where((eb) => eb.or([eb('status', '!=', status), reason === null ? eb('disabled_reason', 'is not', null) : eb('disabled_reason', 'is', null), eb('disabled_reason', '!=', reason ?? '')]))
        .returningAll()
        .executeTakeFirst();
      if (!changed) {
        changed = await trx.selectFrom('provider_credentials').selectAll().where('id', '=', id).where('provider_id', '=', providerId).executeTakeFirst();
        if (!changed) throw credentialNotFound(id);
        return;
      }
      await writeAudit(trx, this.deps, { orgId, type: status === 'disabled' ? 'provider_credential.disabled' : 'provider_credential.enabled', actor, objectId: id, details: { data: { provider_id: providerId } } });
    });
    return this.shown(changed as CredentialRow, provider);
  }

  async deleteCredential(orgId: string, providerId: string, id: string, actor: Actor) {
    const row = await this.credentialRow(orgId, providerId, id);
    await this.write(providerId, actor, async (trx) => {
      const done = await trx.deleteFrom('provider_credentials').where('id', '=', id).where('provider_id', '=', providerId).returning('seq').executeTakeFirst();
      if (!done) throw credentialNotFound(id);
      await markRemoved(trx, 'provider_credentials', providerId, id, { seq: Number(done.seq) }, nowSeconds(this.deps));
      await writeAudit(trx, this.deps, { orgId, type: 'provider_credential.deleted', actor, objectId: id, details: { data: { provider_id: providerId, redacted_value: row.redacted_value } } });
    });
    return { object: 'organization.provider.credential.deleted' as const, id, deleted: true as const };
  }

  /**
   * A credential the provider refused (the gateway saw a 401 for `refusedSecret`, the key it sent): disabled here too,
   * so the API shows it and every instance stops using it, with its audit entry and `announce` (its webhook deliveries,
   * announceCredentialFailure's) in the same transaction.
   * `rotated` when the stored key is no longer the one refused: the operator replaced it while that request was under
   * way (or before another instance reloaded), and the new key, which the provider has not refused, stays in use.
   * `not_active` when it is not an active runtime credential (already disabled, deleted).
   */
  async markRefused(orgId: string, failure: ProviderCredentialFailure, refusedSecret: string, announce?: (trx: Executor) => Promise<void>): Promise<'disabled' | 'rotated' | 'not_active'> {
    const id = failure.credential;
    const row = await this.sealedRow(orgId, id);
    if (row?.status !== 'active') return 'not_active';
    if (!this.holds(row, refusedSecret)) return 'rotated';
    let outcome: 'disabled' | 'rotated' | 'not_active' = 'disabled';
    await this.write(row.provider_id, SYSTEM, async (trx) => {
      // Only the key that was refused: a rotation or a status change since the read above wins.
      const done = await trx
        .updateTable('provider_credentials')
        .set({ status: 'disabled', disabled_reason: 'upstream_refused', updated_at: nowSeconds(this.deps) })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .where('secret_ciphertext', '=', row.secret_ciphertext)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) > 0) {
        await auditCredentialFailure(trx, this.deps, orgId, failure);
        await announce?.(trx);
        return;
      }
      // Which change won: a rotation (still active, another key), or a disable or delete (another instance's refusal).
      const now = await trx.selectFrom('provider_credentials').select('status').where('id', '=', id).executeTakeFirst();
      outcome = now?.status === 'active' ? 'rotated' : 'not_active';
    });
    return outcome;
  }

  /**
   * Whether a runtime credential is active and still holds `secret`: false once it was rotated, disabled or deleted
   * since a request took that key (a report of the old key would be about a key no longer in use).
   */
  async holdsKey(orgId: string, id: string, secret: string): Promise<boolean> {
    const row = await this.sealedRow(orgId, id);
    return row?.status === 'active' && this.holds(row, secret);
  }

  /** A credential's sealed key with its status and the provider row it names (its binding). */
  private sealedRow(orgId: string, id: string) {
    return this.deps.database.db
      .selectFrom('provider_credentials as c')
      .innerJoin('runtime_providers as p', 'p.id', 'c.provider_id')
      .select(['c.id as id', 'c.provider_id as provider_id', 'c.status as status', 'c.secret_ciphertext as secret_ciphertext', 'p.base_url as base_url'])
      .where('c.id', '=', id)
      .where('c.org_id', '=', orgId)
      .executeTakeFirst();
  }

  /** Whether a sealed key opens to `secret` (false when it does not open at all). */
  private holds(row: { id: string; provider_id: string; secret_ciphertext: string; base_url: string }, secret: string): boolean {
    try {
      return openProviderCredential(this.cipher, row, { id: row.provider_id, base_url: row.base_url }) === secret;
    } catch {
      return false;
    }
  }

  /** Whether a credential's stored key opens bound to `provider` as it is now. */
  private opens(row: CredentialRow, provider: ProviderRow): boolean {
    try {
      openProviderCredential(this.cipher, row, provider);
      return true;
    } catch {
      return false;
    }
  }

  /** A credential as the API shows it: unusable when its key does not open. */
  private shown(row: CredentialRow, provider: ProviderRow): ProviderCredentialObject {
    return toCredential(row, this.opens(row, provider));
  }

  /** Every runtime provider of the organization with its active credentials opened (for the gateway's directory). */
  async load(orgId: string): Promise<RuntimeProviderRecord[]> {
    const db = this.deps.database.db;
    const providers = await db.selectFrom('runtime_providers').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
    const creds = await db.selectFrom('provider_credentials').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
    return providers.map((row) => {
      const p = toProvider(row);
      const record: RuntimeProviderRecord = {
        id: p.id,
        name: p.name,
        kind: p.kind,
        baseUrl: p.base_url,
        models: p.models,
        modelPrefixes: p.model_prefixes,
        apiVersion: p.api_version,
        deployments: p.deployments ?? {},
        credentials: [],
        unreadable: [],
        stored: 0,
      };
      for (const c of creds) {
        if (c.provider_id !== p.id) continue;
        record.stored++;
        if (c.status !== 'active') continue;
        try {
          // Bound to this provider's id and base URL: a row moved onto another provider, or a base URL changed in the
          // database, does not open (its key is never sent there).
          record.credentials.push({ id: c.id, apiKey: openProviderCredential(this.cipher, c, row), weight: Number(c.weight) });
        } catch {
          record.unreadable.push(c.id);
        }
      }
      return record;
    });
  }

  /** Registers what a write waits for before it answers (the gateway's directory reload). */
  onWritten(settle: () => Promise<void>): void {
    this.settlers.push(settle);
  }

  /**
   * One transaction with its change-feed row, then the fan-out (this instance's directory, other instances by Redis
   * and the feed); the answer waits for this instance's directory, so a rotation is used from the next request on.
   * The actor is checked in the transaction to be an owner still (services/acting-owner.ts).
   */
  private async write(providerId: string, actor: Actor, fn: (trx: Executor) => Promise<void>): Promise<void> {
    await asActingOwner(this.deps, actor, async (trx) => {
      await fn(trx);
      await recordKeyChange(trx, this.deps, providerId);
    });
    this.deps.changes.providerChanged?.(providerId);
    await Promise.all(this.settlers.map((settle) => settle()));
  }

  private async checkName(orgId: string, name: string, self: string | null): Promise<void> {
    const lower = name.toLowerCase();
    if (this.reservedNames.some((n) => n.toLowerCase() === lower)) {
      throw new TollgateError('conflict', `A provider named '${name}' is in the configuration file; choose another name.`, 'name');
    }
    if (RESERVED_NAMES.includes(lower)) throw new TollgateError('conflict', `The name '${name}' is the built-in echo model's; choose another name.`, 'name');
    const rows = await this.deps.database.db.selectFrom('runtime_providers').select(['id', 'name']).where('org_id', '=', orgId).execute();
    if (rows.some((r) => r.id !== self && r.name.toLowerCase() === lower)) throw new TollgateError('conflict', `A provider named '${name}' already exists.`, 'name');
  }

  private async providerRow(orgId: string, id: string): Promise<ProviderRow> {
    const row = await this.deps.database.db.selectFrom('runtime_providers').selectAll().where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
    if (!row) throw providerNotFound(id);
    return row;
  }

  /**
   * Holds a provider's row for the rest of the transaction (a no-op update takes its lock in PostgreSQL; SQLite's
   * writes are serial), or refuses with 404 when a delete took it first.
   */
  private async holdProvider(trx: Executor, orgId: string, id: string): Promise<string> {
    const held = await trx
      .updateTable('runtime_providers')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('id', '=', id)
      .where('org_id', '=', orgId)
      .returning('base_url')
      .executeTakeFirst();
    if (!held) throw providerNotFound(id);
    return held.base_url;
  }

  private async credentialRow(orgId: string, providerId: string, id: string): Promise<CredentialRow> {
    return (await this.credentialAndProvider(orgId, providerId, id)).row;
  }

  private async credentialAndProvider(orgId: string, providerId: string, id: string): Promise<{ row: CredentialRow; provider: ProviderRow }> {
    const provider = await this.providerRow(orgId, providerId);
    const row = await this.deps.database.db.selectFrom('provider_credentials').selectAll().where('id', '=', id).where('provider_id', '=', providerId).executeTakeFirst();
    if (!row) throw credentialNotFound(id);
    return { row, provider };
  }
}

/**
 * A write that found its row gone (a delete committed between the read and the write) throws one of these inside its
 * transaction, so that its audit entry is rolled back with it: an answer of 404 leaves nothing written.
 */
const providerNotFound = (id: string) => new TollgateError('not_found', `No provider found with id '${id}'.`, 'provider_id');
const credentialNotFound = (id: string) => new TollgateError('not_found', `No credential found with id '${id}'.`, 'credential_id');

/** A write's unique-name violation (two writes racing past the check with one name, in any case) as the check's 409. */
async function nameClash<T>(name: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw new TollgateError('conflict', `A provider named '${name}' already exists.`, 'name');
    throw err;
  }
}
