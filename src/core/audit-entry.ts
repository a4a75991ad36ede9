import type { PermissionsSpec } from './permissions.js';
import { urlOrigin } from './provider-url.js';
import { scopesFromPermissions } from './scopes.js';

// An audit entry as OpenAI's Audit Logs API shows it (AuditLog in OpenAI's OpenAPI description), from the row Tollgate
// stored. The row keeps Tollgate's own record (who acted, as Tollgate saw them; the details as the use case wrote
// them); this is the one place that turns it into OpenAI's shape, for rows written before and after this rendering:
// - the actor is one of OpenAI's two, `session` or `api_key` (an API key's `type` is its owner's, `user` or
//   `service_account`; Tollgate's `object` says which kind of key it is); an entry no person or key caused (the CLI on
//   the server, Tollgate itself, a leak reporter) has `"actor": null`, OpenAI's form for that, and Tollgate's account
//   of it in `tollgate_actor`;
// - `project` is left out when the entry is not about a project (OpenAI: "Absent for actions not scoped to projects");
// - a key's permissions are shown as OpenAI's `scopes` (an array), Tollgate's form beside them as `permissions`;
// - a null OpenAI types as a string or number (a change requested as null, that is "keep it") is left out.

/** The acting key, when the actor is an API key: what it is and whom it belongs to. */
export interface ActingKey {
  kind: 'project' | 'admin';
  ownerType: 'user' | 'service_account' | null;
  ownerId: string | null;
  ownerEmail: string | null;
}

/** An audit_logs row, as stored. */
export interface StoredAuditEntry {
  id: string;
  type: string;
  effective_at: number;
  actor_type: string;
  actor_id: string | null;
  /** JSON: the actor as recorded when the entry was written. */
  actor: string;
  project_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON: the details the use case wrote. */
  details: string;
}

export interface AuditLogObject {
  id: string;
  object: 'organization.audit_log';
  type: string;
  effective_at: number;
  project?: { id: string; name?: string };
  actor: Record<string, unknown> | null;
  tollgate_actor?: Record<string, unknown>;
  ip_address: string | null;
  user_agent: string | null;
  [details: string]: unknown;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An object without its undefined and null members (OpenAI's actor schemas type every member as a string). */
function compact(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** The actor in OpenAI's shape, or null with Tollgate's account of it. */
export function auditActor(row: StoredAuditEntry, key: ActingKey | undefined): { actor: Obj | null; tollgate_actor?: Obj } {
  let stored: Obj = {};
  try {
    const parsed: unknown = JSON.parse(row.actor);
    if (isObj(parsed)) stored = parsed;
  } catch {
    // an unreadable record: shown from the row's columns alone
  }
  if (row.actor_type === 'session') {
    const session = isObj(stored.session) ? stored.session : {};
    const user = isObj(session.user) ? session.user : {};
    return {
      actor: {
        type: 'session',
        session: compact({
          user: compact({ id: str(user.id) ?? str(row.actor_id), email: str(user.email) }),
          ip_address: str(session.ip_address) ?? str(row.ip),
          user_agent: str(session.user_agent) ?? str(row.user_agent),
        }),
      },
    };
  }
  if (row.actor_type === 'api_key') {
    const recorded = isObj(stored.api_key) ? stored.api_key : {};
    const id = str(recorded.id) ?? str(row.actor_id);
    // Rows name the key's kind as Tollgate's old `type` ('admin', or the owner's kind for a project key).
    const kind = key?.kind ?? (recorded.type === 'admin' ? 'admin' : 'project');
    const owner =
      key?.ownerType === 'user' && key.ownerId
        ? { type: 'user', user: compact({ id: key.ownerId, email: key.ownerEmail }) }
        : key?.ownerType === 'service_account' && key.ownerId
          ? { type: 'service_account', service_account: { id: key.ownerId } }
          : {};
    return {
      actor: compact({
        type: 'api_key',
        api_key: compact({ id, ...owner, object: kind === 'admin' ? 'organization.admin_api_key' : 'organization.project.api_key' }),
        ip_address: str(stored.ip_address) ?? str(row.ip),
        user_agent: str(stored.user_agent) ?? str(row.user_agent),
      }),
    };
  }
  return { actor: null, tollgate_actor: compact({ type: row.actor_type, id: str(row.actor_id), ip_address: str(row.ip) }) };
}

/** Members OpenAI types as strings or numbers in an event's `data` / `changes_requested`, for the types Tollgate writes. */
const TYPED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  'project.created': ['name', 'title'],
  'project.updated': ['title'],
  'service_account.created': ['role'],
  'service_account.updated': ['role'],
  'user.added': ['role'],
  'user.updated': ['role'],
  'invite.sent': ['email', 'role'],
  'rate_limit.updated': [
    'max_requests_per_1_minute',
    'max_tokens_per_1_minute',
    'max_images_per_1_minute',
    'max_audio_megabytes_per_1_minute',
    'max_requests_per_1_day',
    'batch_1_day_max_input_tokens',
  ],
};

function isPermissions(v: unknown): v is PermissionsSpec {
  return v === 'all' || v === 'read_only' || (isObj(v) && isObj(v.restricted));
}

/** `scopes` as OpenAI's array; Tollgate's permissions (which older rows stored as `scopes`) as `permissions`. */
function withScopes(o: Obj): Obj {
  if (Array.isArray(o.scopes) && o.scopes.every((s) => typeof s === 'string')) return o;
  const permissions = o.permissions ?? o.scopes;
  const out: Obj = { ...o };
  delete out.scopes;
  if (!isPermissions(permissions)) return out;
  return { ...out, scopes: scopesFromPermissions(permissions), permissions };
}

function withoutNulls(o: Obj, members: readonly string[] | undefined): Obj {
  if (!members) return o;
  const out: Obj = { ...o };
  for (const m of members) if (out[m] === null) delete out[m];
  return out;
}

/**
 * A project's name under OpenAI's words for it: its audit log calls it `title` ("the title of the project as seen on
 * the dashboard"), beside `name` in project.created's `data` and alone in project.updated's `changes_requested`.
 * Tollgate records the request's `name`, in rows of every version; its own members (allowed_ips, …) stay beside it.
 */
function withProjectTitle(type: string, part: 'data' | 'changes_requested', v: Obj): Obj {
  if (type === 'project.created' && part === 'data' && v.title === undefined && typeof v.name === 'string') return { ...v, title: v.name };
  if (type === 'project.updated' && part === 'changes_requested' && 'name' in v) {
    const { name, ...rest } = v;
    return { title: name, ...rest };
  }
  return v;
}

/** The details of an entry (the member named after its type) in OpenAI's shape. */
export function auditDetails(type: string, details: Obj): Obj {
  const out: Obj = { ...details };
  if (out.id === null || out.id === undefined) delete out.id;
  for (const part of ['data', 'changes_requested'] as const) {
    const value = out[part];
    if (!isObj(value)) continue;
    let v = withoutNulls(withProjectTitle(type, part, value), TYPED_MEMBERS[type]);
    if (type === 'api_key.created' || type === 'api_key.updated') v = withScopes(v);
    // Only the origin of a webhook's URL, also of an entry an instance of an earlier version wrote during a rolling
    // upgrade, after migration 109 had reduced those before it (found by review): the rest is often a credential.
    if (type === 'webhook.created' && typeof v.url === 'string') v = { ...v, url: urlOrigin(v.url) };
    out[part] = v;
  }
  return out;
}

/** One stored entry as OpenAI's AuditLog, given its project's name and, for a key actor, the key. */
export function auditLogObject(row: StoredAuditEntry, projectName: string | undefined, key: ActingKey | undefined): AuditLogObject {
  let details: Obj = {};
  try {
    const parsed: unknown = JSON.parse(row.details);
    if (isObj(parsed)) details = parsed;
  } catch {
    // an unreadable record: no details
  }
  return {
    id: row.id,
    object: 'organization.audit_log',
    type: row.type,
    effective_at: Number(row.effective_at),
    ...(row.project_id ? { project: compact({ id: row.project_id, name: projectName }) as { id: string; name?: string } } : {}),
    ...auditActor(row, key),
    ip_address: row.ip,
    user_agent: row.user_agent,
    [row.type]: auditDetails(row.type, details),
  };
}
