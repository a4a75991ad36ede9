import { z } from 'zod';
import { MAX_EXPOSED_URL_LENGTH, MAX_EXPOSURE_SOURCE_LENGTH, MAX_EXPOSURE_TYPE_LENGTH } from '../core/exposure-report.js';
import { hashSecret, parseSecret } from '../core/key-format.js';
import { redactKeysInText } from '../core/key-search.js';
import { writeAudit } from './audit.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { withdrawInvitesBy } from './invites.js';
import { recordKeyChange } from './key-writes.js';
import { text } from './text-fields.js';

// Leak response: find keys by secret (for scanners) and disable the exposed ones at once.

/** The body of POST /api_keys/lookup. */
export const LookupSecretsBody = z.strictObject({ secrets: z.array(text({ max: 256 })).min(1).max(100) });
export type LookupSecretsBody = z.output<typeof LookupSecretsBody>;
/** The body of POST /api_keys/report_exposed. */
export const ReportExposedBody = z.strictObject({
  reports: z
    .array(z.strictObject({ token: text({ max: 256 }), url: text({ max: MAX_EXPOSED_URL_LENGTH }).nullish(), source: text({ max: MAX_EXPOSURE_SOURCE_LENGTH }).nullish(), type: text({ max: MAX_EXPOSURE_TYPE_LENGTH }).nullish() }))
    .min(1)
    .max(1000),
});
export type ReportExposedBody = z.output<typeof ReportExposedBody>;

/**
 * What a presented secret can do now, judged as the gateway judges it (core/verify.ts): the key's own status
 * (`exposed`, `suspended`, `revoked`), then `expired` (the key's expiry), `rotated_out` (this secret was replaced by a
 * rotation and its grace is over: the key lives on under its new secret), `project_archived`; else `active`.
 */
export type SecretStatus = 'active' | 'revoked' | 'exposed' | 'suspended' | 'expired' | 'rotated_out' | 'project_archived';

export type LookupResult =
  | { hash: string; found: false }
  | { hash: string; found: true; id: string; kind: 'project' | 'admin'; project_id: string | null; name: string; status: SecretStatus };

interface SecretRow {
  status: string;
  expires_at: number | null;
  secret_expires_at: number | null;
  project_status: string | null;
}

/** The status of the secret itself (not only of its key): a retired secret past its grace is dead. */
export function secretStatus(row: SecretRow, now: number): SecretStatus {
  if (row.status !== 'active') return row.status === 'exposed' || row.status === 'suspended' ? row.status : 'revoked';
  if (row.expires_at !== null && now >= row.expires_at) return 'expired';
  if (row.secret_expires_at !== null && now >= row.secret_expires_at) return 'rotated_out';
  if (row.project_status === 'archived') return 'project_archived';
  return 'active';
}

/** Looks keys up by their secrets (digests only are compared and returned; the secret is never echoed). */
export async function lookupSecrets(deps: ServiceDeps, orgId: string, body: LookupSecretsBody): Promise<{ object: 'list'; data: LookupResult[] }> {
  const now = nowSeconds(deps);
  const data: LookupResult[] = [];
  for (const secret of body.secrets) {
    const hash = hashSecret(secret);
    const row = parseSecret(secret) ? await findBySecretHash(deps, hash) : undefined;
    if (!row || row.org_id !== orgId) {
      data.push({ hash, found: false });
      continue;
    }
    data.push({ hash, found: true, id: row.id, kind: row.kind, project_id: row.project_id, name: row.name, status: secretStatus(row, now) });
  }
  return { object: 'list', data };
}

/** The key a secret belongs to, with what decides whether that secret still works. */
async function findBySecretHash(deps: ServiceDeps, hash: string) {
  return deps.database.db
    .selectFrom('api_key_secrets as s')
    .innerJoin('api_keys as k', 'k.id', 's.key_id')
    .leftJoin('projects as p', 'p.id', 'k.project_id')
    .select([
      'k.id as id',
      'k.kind as kind',
      'k.project_id as project_id',
      'k.name as name',
      'k.status as status',
      'k.expires_at as expires_at',
      'k.org_id as org_id',
      's.expires_at as secret_expires_at',
      'p.status as project_status',
    ])
    .where('s.secret_hash', '=', hash)
    .executeTakeFirst();
}

/** One reported token; a null member is as good as an absent one. */
export interface ExposureReportItem {
  token: string;
  url?: string | null;
  source?: string | null;
  type?: string | null;
}

export interface ExposureResult {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
  /** Set when this report disabled the key (a replay finds it already exposed). */
  disabled_key_id?: string;
  /** For a true positive: what the reported secret can do after the report (`exposed` once disabled). */
  status?: SecretStatus;
}

/** An exposed key, as its listener is told of it. */
export interface ExposedKey {
  keyId: string;
  projectId: string | null;
  orgId: string;
  url: string | null;
  source: string | null;
}

/**
 * Told of each key a report disabled (the `api_key.exposed` webhooks): `exposed` in the transaction that disables it,
 * so that its event is owed exactly when the key is disabled; `committed` once the report's changes are written.
 */
export interface ExposureListener {
  exposed(trx: Executor, event: ExposedKey): Promise<void>;
  committed(): void;
}

// Secrets whose key is disabled on a report: one that works, and one whose key could be made to work again (an
// expired key's expiry can be moved; an archived project's key never works again, but disabling it says why).
const DISABLED_ON_REPORT: ReadonlySet<SecretStatus> = new Set(['active', 'expired', 'project_archived']);

/**
 * The report's texts with every Tollgate key in them redacted (the token itself is kept). They are stored, audited, sent
 * by webhook, and the url is told to whoever presents the exposed key: a reporter's url can name another key (a file
 * named after it), whose holder is not that person.
 */
function withKeysRedacted(item: ExposureReportItem): ExposureReportItem {
  const redact = (value: string | null | undefined) => (typeof value === 'string' ? redactKeysInText(value) : value);
  return { token: item.token, url: redact(item.url), source: redact(item.source), type: redact(item.type) };
}

/**
 * Disables every reported token that is one of our usable keys: status `exposed`, refused by the gateway from this
 * moment, audited as `api_key.exposed`. Replays are harmless: an already exposed key is reported true_positive again
 * and nothing else happens. A secret that can never work again (retired by a rotation, its key revoked or suspended)
 * is ours but changes nothing: disabling its key would break the key's current secret for a leak of a dead one.
 * Tokens that are not ours (or fail the checksum) are false positives.
 */
export async function reportExposed(
  deps: ServiceDeps,
  orgId: string | null,
  items: ExposureReportItem[],
  actor: Actor,
  onExposed?: ExposureListener,
): Promise<ExposureResult[]> {
  // The acting admin key (or owner) is checked once, as the request starts, not again before each key it disables: the
  // request may report that very key, and disabling it must not refuse the reports after it (they were refused 401
  // and their keys left live). Nor does a revocation of the caller meanwhile stop the rest: every report presents the
  // secret it disables, which its reporter holds whatever their role now, so disabling it can only help.
  await asActingOwner(deps, actor, async () => undefined);
  const out: ExposureResult[] = [];
  let disabled = false;
  try {
    for (const reported of items) out.push(await reportOne(deps, orgId, reported, actor, onExposed, () => (disabled = true)));
  } finally {
    // Keys disabled before a failure are committed all the same: their events are owed.
    if (disabled) onExposed?.committed();
  }
  return out;
}

async function reportOne(
  deps: ServiceDeps,
  orgId: string | null,
  reported: ExposureReportItem,
  actor: Actor,
  onExposed: ExposureListener | undefined,
  onDisabled: () => void,
): Promise<ExposureResult> {
  const hash = hashSecret(reported.token);
  const item = withKeysRedacted(reported);
  const token_type = item.type ?? 'tollgate_api_key';
  const row = parseSecret(reported.token) ? await findBySecretHash(deps, hash) : undefined;
  if (!row || (orgId !== null && row.org_id !== orgId)) {
    return { token_hash: hash, token_type, label: 'false_positive' };
  }
  const now = nowSeconds(deps);
  const status = secretStatus(row, now);
  if (!DISABLED_ON_REPORT.has(status)) {
    return { token_hash: hash, token_type, label: 'true_positive', status };
  }
  // Its own transaction, the actor not asked again (reportExposed checked them).
  const changed = await deps.database.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('api_keys')
      .set({ status: 'exposed', exposed_at: now, exposed_url: item.url ?? null })
      .where('id', '=', row.id)
      .where('status', '=', 'active')
      // The reported secret must still be one of the key's: a rotation ending its grace meanwhile leaves it dead.
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('api_key_secrets')
            .select('key_id')
            .where('secret_hash', '=', hash)
            .where((s) => s.or([s('expires_at', 'is', null), s('expires_at', '>', now)])),
        ),
      )
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await recordKeyChange(trx, deps, row.id);
    await writeAudit(trx, deps, {
      orgId: row.org_id,
      type: 'api_key.exposed',
      actor,
      projectId: row.project_id,
      objectId: row.id,
      details: { url: item.url ?? null, source: item.source ?? null, token_type },
    });
    // Invitations a leaked admin key sent (an owner's role among them) go with it: whoever holds it may have sent them.
    if (row.kind === 'admin') await withdrawInvitesBy(trx, deps, row.org_id, [row.id], actor);
    await onExposed?.exposed(trx, { keyId: row.id, projectId: row.project_id, orgId: row.org_id, url: item.url ?? null, source: item.source ?? null });
    return true;
  });
  deps.changes.keyChanged(row.id);
  if (changed) {
    onDisabled();
    return { token_hash: hash, token_type, label: 'true_positive', disabled_key_id: row.id, status: 'exposed' };
  }
  // Changed meanwhile (exposed by another report, revoked, rotated out): answer what the secret is now.
  const after = await findBySecretHash(deps, hash);
  return { token_hash: hash, token_type, label: 'true_positive', status: after ? secretStatus(after, nowSeconds(deps)) : 'revoked' };
}
