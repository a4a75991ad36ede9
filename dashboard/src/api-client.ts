// Every call the dashboard makes to the server, in one place: the paths, methods and shapes of the admin API
// (/v1/organization/…, OpenAI's), the session API (/auth/…) and the dashboard's own reads (/auth/dashboard/…).
// Pages call these functions, never fetch or api() directly, so a change of the API is made here once.

import { ApiError, api, withQuery } from './api.js';
import { METERED_USAGE_KINDS, type Bucket, type BucketPage, type CostResult, type UsageKind, type UsageResult } from './pages/usage/usage-types.js';
import type {
  Account,
  AdminApiKey,
  AuditLog,
  CreatedAdminKey,
  CreatedInvite,
  CreatedKey,
  CreatedServiceAccount,
  CreatedWebhook,
  GraceEndedKey,
  Invite,
  InvitePreview,
  KeyOrder,
  KeySearchPage,
  KeyStatus,
  ListPage,
  NamedObject,
  OrgRole,
  OrgUser,
  Permissions,
  Project,
  ProjectApiKey,
  ProjectRole,
  ProjectUser,
  ProviderCredential,
  RateLimit,
  RefusalReport,
  RotatedProjectKey,
  RuntimeProvider,
  ServiceAccount,
  SpendAlert,
  SpendLimit,
  Standing,
  Webhook,
} from './types.js';

const ORG = '/v1/organization';
const enc = encodeURIComponent;

/** `/v1/organization/projects/{id}/…` */
export function projectPath(projectId: string, rest = ''): string {
  return `${ORG}/projects/${enc(projectId)}${rest}`;
}

/**
 * Every item of a list read a page at a time (`after` = the previous page's last_id). It stopped after 20 pages, so
 * that a list past 2,000 items lost its tail without a word (a project's 2,001st key was missing from the usage page's
 * key filter); now it reads to the end, and throws when the server's cursor stops moving rather than loop or cut.
 */
async function readAllPages<T>(read: (after: string | null) => Promise<{ data: T[]; has_more: boolean; last_id: string | null }>): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let after: string | null = null;
  for (;;) {
    const page = await read(after);
    out.push(...page.data);
    if (!page.has_more) return out;
    if (!page.last_id || seen.has(page.last_id)) throw new Error('The server answered a list whose pages do not end: nothing is shown rather than part of it.');
    seen.add(page.last_id);
    after = page.last_id;
  }
}

/** Reads every page of an OpenAI-style list. */
function listAll<T extends { id: string }>(path: string, query: Record<string, string> = {}): Promise<T[]> {
  return readAllPages((after) => api<ListPage<T>>('GET', withQuery(path, { ...query, limit: 100, after })));
}

// ---- Session (/auth) ----

export const getMe = () => api<Account>('GET', '/auth/me');
export const getAuthStatus = () => api<{ owner_signup_open: boolean }>('GET', '/auth/status');
export const signIn = (email: string, password: string) => api<Account>('POST', '/auth/login', { email, password });
export const signUp = (body: { email: string; password: string; name?: string; setup_token?: string; invite_token?: string }) =>
  api<Account>('POST', '/auth/signup', body);
export const signOut = () => api<unknown>('POST', '/auth/logout');
export const changePassword = (currentPassword: string, newPassword: string) =>
  api<Account>('POST', '/auth/password', { current_password: currentPassword, new_password: newPassword });

export const lookupInvite = (token: string) => api<InvitePreview>('POST', '/auth/invites/lookup', { token });

// ---- The dashboard's own reads (/auth/dashboard) ----

export const getInstance = () => api<{ quickstart_model: string | null }>('GET', '/auth/dashboard/instance');

export interface KeyQuery {
  search?: string;
  status?: KeyStatus[];
  order?: KeyOrder;
  ownerId?: string;
  after?: string | null;
  limit?: number;
}

/** One page of a project's keys, searched, filtered and sorted by the server. */
export function searchKeys(projectId: string, q: KeyQuery = {}): Promise<KeySearchPage> {
  return api<KeySearchPage>(
    'GET',
    withQuery(`/auth/dashboard/projects/${enc(projectId)}/api_keys`, {
      search: q.search?.trim() || undefined,
      status: q.status?.length ? q.status.join(',') : undefined,
      order: q.order,
      owner_id: q.ownerId,
      after: q.after,
      limit: q.limit ?? 50,
    }),
  );
}

/** Every key of a project matching `q` (all pages). */
export function searchAllKeys(projectId: string, q: Omit<KeyQuery, 'after' | 'limit'> = {}): Promise<ProjectApiKey[]> {
  return readAllPages((after) => searchKeys(projectId, { ...q, after, limit: 100 }));
}

/** Names of ids (keys, users, service accounts, projects), at most 200 per call. */
export async function resolveNames(ids: string[]): Promise<Map<string, NamedObject>> {
  const unique = [...new Set(ids.filter(Boolean))];
  const out = new Map<string, NamedObject>();
  for (let i = 0; i < unique.length; i += 200) {
    const res = await api<{ data: NamedObject[] }>('GET', withQuery('/auth/dashboard/names', { ids: unique.slice(i, i + 200).join(',') }));
    for (const n of res.data) out.set(n.id, n);
  }
  return out;
}

export interface RangeFilter {
  start: number;
  end: number;
  projectIds?: string[];
  apiKeyIds?: string[];
}

/** Refused requests by reason. */
export const getRefusals = (f: RangeFilter) =>
  api<RefusalReport>(
    'GET',
    withQuery('/auth/dashboard/refusals', {
      start_time: f.start,
      end_time: f.end,
      project_ids: f.projectIds?.join(','),
      api_key_ids: f.apiKeyIds?.join(','),
    }),
  );

/** Where budgets and quotas stand: every project's, one project's, or one key's with its project's. */
export const getBudgets = (opts: { projectId?: string; apiKeyId?: string } = {}) =>
  api<{ data: Standing[] }>('GET', withQuery('/auth/dashboard/budgets', { project_id: opts.projectId, api_key_id: opts.apiKeyId })).then((r) => r.data);

// ---- Projects ----

/** Every project, archived ones included (the pages pick the active ones where keys are made). */
export const listProjects = () => listAll<Project>(`${ORG}/projects`, { include_archived: 'true' });
export const createProject = (name: string) => api<Project>('POST', `${ORG}/projects`, { name });
export const renameProject = (projectId: string, name: string) => api<Project>('POST', projectPath(projectId), { name });
export const archiveProject = (projectId: string) => api<Project>('POST', projectPath(projectId, '/archive'));

// ---- Project keys ----

/** What the create and edit dialogs send: every field the API takes for a key. */
export interface KeyFields {
  name?: string;
  permissions?: Permissions;
  expires_at?: number | null;
  allowed_ips?: string[] | null;
  allowed_models?: string[] | null;
  rate_limits?: ProjectApiKey['rate_limits'];
  spend_limit?: ProjectApiKey['spend_limit'];
  request_quota?: ProjectApiKey['request_quota'];
}

const keyPath = (projectId: string, keyId: string, rest = '') => projectPath(projectId, `/api_keys/${enc(keyId)}${rest}`);

export const getKey = (projectId: string, keyId: string) => api<ProjectApiKey>('GET', keyPath(projectId, keyId));
export const createKey = (projectId: string, body: KeyFields & { owner: { type: 'user' | 'service_account'; id: string } }) =>
  api<CreatedKey>('POST', projectPath(projectId, '/api_keys'), body);
export const updateKey = (projectId: string, keyId: string, body: KeyFields) => api<ProjectApiKey>('POST', keyPath(projectId, keyId), body);
export const rotateKey = (projectId: string, keyId: string, graceSeconds: number) =>
  api<RotatedProjectKey>('POST', keyPath(projectId, keyId, '/rotate'), { grace_period_seconds: graceSeconds });
export const revokeKey = (projectId: string, keyId: string) => api<unknown>('DELETE', keyPath(projectId, keyId));
/** Ends a rotation's grace period: the previous secrets stop working now. */
export const endGrace = (projectId: string, keyId: string) => api<GraceEndedKey>('POST', keyPath(projectId, keyId, '/end_grace'));

// ---- Service accounts ----

export const listServiceAccounts = (projectId: string) => listAll<ServiceAccount>(projectPath(projectId, '/service_accounts'));
export const createServiceAccount = (projectId: string, name: string) =>
  api<CreatedServiceAccount>('POST', projectPath(projectId, '/service_accounts'), { name });
export const renameServiceAccount = (projectId: string, id: string, name: string) =>
  api<ServiceAccount>('POST', projectPath(projectId, `/service_accounts/${enc(id)}`), { name });
export const deleteServiceAccount = (projectId: string, id: string) => api<unknown>('DELETE', projectPath(projectId, `/service_accounts/${enc(id)}`));

// ---- People ----

export const listUsers = () => listAll<OrgUser>(`${ORG}/users`);
export const setUserRole = (userId: string, role: OrgRole) => api<OrgUser>('POST', `${ORG}/users/${enc(userId)}`, { role });
export const removeUser = (userId: string) => api<unknown>('DELETE', `${ORG}/users/${enc(userId)}`);
export const listProjectMembers = (projectId: string) => listAll<ProjectUser>(projectPath(projectId, '/users'));
export const addProjectMember = (projectId: string, userId: string, role: ProjectRole) =>
  api<ProjectUser>('POST', projectPath(projectId, '/users'), { user_id: userId, role });
export const setProjectMemberRole = (projectId: string, userId: string, role: ProjectRole) =>
  api<ProjectUser>('POST', projectPath(projectId, `/users/${enc(userId)}`), { role });
export const removeProjectMember = (projectId: string, userId: string) => api<unknown>('DELETE', projectPath(projectId, `/users/${enc(userId)}`));
export const listInvites = () => listAll<Invite>(`${ORG}/invites`);
export const createInvite = (body: { email: string; role: OrgRole; projects?: Array<{ id: string; role: ProjectRole }> }) =>
  api<CreatedInvite>('POST', `${ORG}/invites`, body);
export const deleteInvite = (inviteId: string) => api<unknown>('DELETE', `${ORG}/invites/${enc(inviteId)}`);

// ---- Admin keys ----

export const listAdminKeys = () => listAll<AdminApiKey>(`${ORG}/admin_api_keys`);
export const createAdminKey = (name: string) => api<CreatedAdminKey>('POST', `${ORG}/admin_api_keys`, { name });
export const revokeAdminKey = (keyId: string) => api<unknown>('DELETE', `${ORG}/admin_api_keys/${enc(keyId)}`);

// ---- Audit log ----

export interface AuditQuery {
  eventTypes?: string[];
  projectIds?: string[];
  resourceIds?: string[];
  from?: number;
  to?: number;
  after?: string | null;
  limit?: number;
}

export const listAuditLogs = (q: AuditQuery) =>
  api<ListPage<AuditLog>>(
    'GET',
    withQuery(`${ORG}/audit_logs`, {
      limit: q.limit ?? 50,
      after: q.after,
      'event_types[]': q.eventTypes,
      'project_ids[]': q.projectIds,
      'resource_ids[]': q.resourceIds,
      'effective_at[gte]': q.from,
      'effective_at[lt]': q.to,
    }),
  );

// ---- Usage and costs ----

export interface BucketQuery {
  start_time: number;
  end_time: number;
  bucket_width: '1d' | '1h';
  group_by?: string[];
  project_ids?: string[];
  api_key_ids?: string[];
}

/** Buckets a page holds at most, as the server takes them (docs/usage-api.md): the Usage API's by width, the Costs API's. */
const USAGE_PAGE_BUCKETS = { '1d': 31, '1h': 168 } as const;
const COSTS_PAGE_BUCKETS = 180;
const WIDTH_SECONDS = { '1d': 86_400, '1h': 3600 } as const;

/**
 * The most pages one usage or costs answer is read in (each kind's answer apart): the longest range per day is then
 * about ten years, per hour 840 days. A longer range is refused before anything is read (see maxUsageRangeDays).
 */
export const MAX_BUCKET_PAGES = 120;

/** The longest range, in whole UTC days, the Usage API is read over per `width` (MAX_BUCKET_PAGES full pages). */
export const maxUsageRangeDays = (width: BucketQuery['bucket_width']): number =>
  Math.floor((MAX_BUCKET_PAGES * USAGE_PAGE_BUCKETS[width] * WIDTH_SECONDS[width]) / 86_400);

/**
 * Every page of a bucketed usage or costs answer (OpenAI pages with `next_page` → `page=`), in pages of `pageBuckets`.
 * Pages come oldest first: the reading stopped after 20 pages and left out the newest buckets, so that a range of
 * 150 days per hour (22 pages) or 700 days per day (23) showed none of today's usage. Now it reads every page the range
 * holds, and throws rather than answer part of the range.
 */
async function fetchBuckets<R>(path: string, q: BucketQuery, pageBuckets: number): Promise<Array<Bucket<R>>> {
  const width = WIDTH_SECONDS[q.bucket_width];
  // As the server counts them: from the bucket holding start_time to the one holding end_time's last second.
  const buckets = Math.max(1, Math.ceil(q.end_time / width) - Math.floor(q.start_time / width));
  const perPage = Math.min(pageBuckets, buckets);
  const pages = Math.ceil(buckets / perPage);
  if (pages > MAX_BUCKET_PAGES) {
    throw new Error(`The range holds ${buckets.toLocaleString('en-US')} buckets, more than ${MAX_BUCKET_PAGES} pages of them: choose a shorter range.`);
  }
  const out: Array<Bucket<R>> = [];
  let page: string | null = null;
  for (let read = 1; ; read++) {
    const res: BucketPage<R> = await api<BucketPage<R>>(
      'GET',
      withQuery(path, {
        start_time: q.start_time,
        end_time: q.end_time,
        bucket_width: q.bucket_width,
        group_by: q.group_by?.length ? q.group_by.join(',') : undefined,
        project_ids: q.project_ids?.length ? q.project_ids.join(',') : undefined,
        api_key_ids: q.api_key_ids?.length ? q.api_key_ids.join(',') : undefined,
        limit: perPage,
        page,
      }),
    );
    out.push(...res.data);
    if (!res.has_more || !res.next_page) break;
    // Never part of the range shown as the whole of it.
    if (read >= pages) throw new Error(`The server answered more than the ${pages} pages of buckets this range holds: nothing is shown rather than part of it.`);
    page = res.next_page;
  }
  return out.sort((a, b) => a.start_time - b.start_time);
}

/** One metered kind's usage (see METERED_USAGE_KINDS). */
export const getUsage = (kind: UsageKind, q: BucketQuery) => fetchBuckets<UsageResult>(`${ORG}/usage/${kind}`, q, USAGE_PAGE_BUCKETS[q.bucket_width]);

/** The usage of every metered kind, each apart (for mergeKinds). */
export const getMeteredUsage = (q: BucketQuery) => Promise.all(METERED_USAGE_KINDS.map(async (kind) => ({ kind, buckets: await getUsage(kind, q) })));

/**
 * Daily costs (the Costs API answers days only). What the dashboard shows as cost: it counts every billed request,
 * as budgets do, including those no usage kind reports (the endpoint kind `other`: docs/usage-api.md).
 */
export const getCosts = (q: Omit<BucketQuery, 'bucket_width'>) => fetchBuckets<CostResult>(`${ORG}/costs`, { ...q, bucket_width: '1d' }, COSTS_PAGE_BUCKETS);

// ---- Limits and alerts ----

/** What the dashboard sets: a limit, or null to remove it. */
export type RateLimitFields = Record<'max_requests_per_1_minute' | 'max_tokens_per_1_minute' | 'max_requests_per_1_day', number | null>;

/** One rate limit per model the project can use, set or not (every page). */
export const listRateLimits = (projectId: string) => listAll<RateLimit>(projectPath(projectId, '/rate_limits'));
export const createRateLimit = (projectId: string, body: RateLimitFields & { model: string }) => api<RateLimit>('POST', projectPath(projectId, '/rate_limits'), body);
export const updateRateLimit = (projectId: string, id: string, body: RateLimitFields) => api<RateLimit>('POST', projectPath(projectId, `/rate_limits/${enc(id)}`), body);
/** Sets a model's limits: OpenAI's update of `rl-<model>`, or for a model the server does not list, Tollgate's create. */
export async function setModelRateLimit(projectId: string, model: string, body: RateLimitFields): Promise<RateLimit> {
  try {
    return await updateRateLimit(projectId, `rl-${model}`, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') return createRateLimit(projectId, { model, ...body });
    throw err;
  }
}
export const deleteRateLimit = (projectId: string, id: string) => api<unknown>('DELETE', projectPath(projectId, `/rate_limits/${enc(id)}`));

/** A spend limit's body: the interval and the enforcement status as the form holds them (`enforcing` refuses requests over the limit; `inactive` only watches it). */
export interface SpendLimitFields {
  threshold_amount: number;
  currency: 'USD';
  interval: string;
  enforcement: { status: string };
}

/** The project's spend limit, or null when none is set (the API answers 404 not_found then). */
export async function getSpendLimit(projectId: string): Promise<SpendLimit | null> {
  try {
    return await api<SpendLimit>('GET', projectPath(projectId, '/spend_limit'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') return null;
    throw err;
  }
}
export const setSpendLimit = (projectId: string, body: SpendLimitFields) => api<SpendLimit>('POST', projectPath(projectId, '/spend_limit'), body);
export const deleteSpendLimit = (projectId: string) => api<unknown>('DELETE', projectPath(projectId, '/spend_limit'));

/** A spend alert's body (an amount in cents of the month's spend; told by webhook and audit entry, with its recipients). */
export interface SpendAlertFields {
  threshold_amount: number;
  notification_channel: { type: 'email'; recipients: string[]; subject_prefix?: string | null };
}

export const listSpendAlerts = (projectId: string) => listAll<SpendAlert>(projectPath(projectId, '/spend_alerts'));
export const createSpendAlert = (projectId: string, body: SpendAlertFields) =>
  api<SpendAlert>('POST', projectPath(projectId, '/spend_alerts'), { ...body, currency: 'USD', interval: 'month' });
export const deleteSpendAlert = (projectId: string, id: string) => api<unknown>('DELETE', projectPath(projectId, `/spend_alerts/${enc(id)}`));

export const listWebhooks = () => listAll<Webhook>(`${ORG}/webhooks`);
export const createWebhook = (url: string, eventTypes: string[]) => api<CreatedWebhook>('POST', `${ORG}/webhooks`, { url, ...(eventTypes.length ? { event_types: eventTypes } : {}) });
export const deleteWebhook = (id: string) => api<unknown>('DELETE', `${ORG}/webhooks/${enc(id)}`);

// ---- Runtime providers (/v1/organization/providers; owners) ----

const providerPath = (id: string, rest = '') => `${ORG}/providers/${enc(id)}${rest}`;
export const listProviders = () => listAll<RuntimeProvider>(`${ORG}/providers`);
export const createProvider = (body: Record<string, unknown>) => api<RuntimeProvider>('POST', `${ORG}/providers`, body);
export const deleteProvider = (id: string) => api<unknown>('DELETE', providerPath(id));
export const listProviderCredentials = (providerId: string) => listAll<ProviderCredential>(providerPath(providerId, '/credentials'));
export const addProviderCredential = (providerId: string, value: string, weight: number | null) =>
  api<ProviderCredential>('POST', providerPath(providerId, '/credentials'), { value, ...(weight !== null ? { weight } : {}) });
export const rotateProviderCredential = (providerId: string, id: string, value: string) =>
  api<ProviderCredential>('POST', providerPath(providerId, `/credentials/${enc(id)}/rotate`), { value });
export const setProviderCredentialEnabled = (providerId: string, id: string, enabled: boolean) =>
  api<ProviderCredential>('POST', providerPath(providerId, `/credentials/${enc(id)}/${enabled ? 'enable' : 'disable'}`));
export const deleteProviderCredential = (providerId: string, id: string) => api<unknown>('DELETE', providerPath(providerId, `/credentials/${enc(id)}`));
