import { TollgateError } from '../../core/errors.js';
import type { ListCursors } from '../../core/object-families.js';
import { loadOwners, ownsMoreObjects, setObjectCreatedAt } from '../../services/upstream-objects.js';
import type { GatewayContext } from './gateway-context.js';
import type { Origin } from './owned-answers.js';
import type { ObjectAccess } from './ownership.js';

// Lists of collections every project shares (files, batches, vector stores, …) are filtered to the caller's objects.
// The upstream's list is read page after page from the client's cursor until `limit` of the caller's objects are
// found, so the page keeps the upstream's order, filters and object contents, and paging stays consistent: `first_id`
// and `last_id` are the first and last object returned, `after`/`before` must name one of the caller's objects, and
// `has_more` is true only when the caller owns another object the list can still reach (decided from the ownership
// table by creation time, which also ends the scan early instead of reading every project's objects to the end).

/** Upstream pages read for one client page once it holds at least one object. */
const PAGES_WITH_RESULTS = 20;
/** Upstream pages read at most for one client page: a list this sparse is refused rather than read for minutes. */
const MAX_PAGES = 200;
/** Further pages are read this large at least (every list of the API takes `limit` up to 100; files up to 10,000). */
const SCAN_PAGE = 100;

interface Item {
  id: string;
  createdAt: number | null;
  value: Record<string, unknown>;
}

interface Page {
  items: Item[];
  hasMore: boolean;
}

function readPage(answer: unknown, provider: string): Page {
  const list = answer as { object?: unknown; data?: unknown; has_more?: unknown } | null;
  if (!list || typeof list !== 'object' || !Array.isArray(list.data)) {
    throw new TollgateError('upstream_error', `The upstream provider '${provider}' answered a list request with something other than a list.`);
  }
  const items: Item[] = [];
  for (const v of list.data) {
    const value = v as Record<string, unknown> | null;
    if (!value || typeof value !== 'object' || typeof value.id !== 'string') continue;
    items.push({ id: value.id, createdAt: createdAtOf(value.created_at ?? value.created), value });
  }
  return { items, hasMore: list.has_more === true };
}

/** An object's creation time in seconds: OpenAI's number, or Anthropic's RFC 3339 string; null when neither. */
function createdAtOf(t: unknown): number | null {
  if (typeof t === 'number' && Number.isFinite(t)) return Math.floor(t);
  if (typeof t !== 'string') return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** The caller's objects of an upstream list answer, reading further pages as needed; in OpenAI's list envelope. */
export async function filterList(g: GatewayContext, access: ObjectAccess, answer: unknown, origin: Origin): Promise<Record<string, unknown>> {
  const plan = access.plan.list;
  if (!plan) throw new Error('filterList needs a list plan');
  const deps = g.app.deps;
  const provider = origin.inner.name;
  const query = new URLSearchParams(origin.req.search);
  const asked = Number(query.get('limit'));
  let page = readPage(answer, provider);
  // Without a limit the upstream's default applies: a full first page shows it.
  const target = Number.isInteger(asked) && asked > 0 ? asked : page.hasMore ? Math.max(page.items.length, 1) : Number.POSITIVE_INFINITY;
  const forward = plan.direction === 'after';
  // Running further down the list: older objects for a newest-first list read forward, and so on.
  const op: '<=' | '>=' = (plan.order === 'desc') === forward ? '<=' : '>=';
  const found: Item[] = [];
  let pages = 1;
  let hasMore = false;
  for (;;) {
    const owners = await loadOwners(deps, page.items.map((i) => i.id));
    const scan = forward ? page.items : [...page.items].reverse();
    let cut = -1;
    for (let i = 0; i < scan.length; i++) {
      const item = scan[i];
      const owner = owners.get(item.id);
      if (owner?.projectId !== access.projectId) continue;
      if (item.createdAt !== null && owner.createdAt !== item.createdAt) {
        void setObjectCreatedAt(deps, item.id, item.createdAt).catch((err) => g.objects?.onError(err, `could not update ${item.id}`));
      }
      found.push(item);
      if (found.length >= target) {
        cut = i;
        break;
      }
    }
    const last = cut >= 0 ? scan[cut] : scan.at(-1);
    const moreUpstream = (cut >= 0 && cut < scan.length - 1) || page.hasMore;
    // Whether the caller owns an object further down than where this page stopped; unknown without a creation time.
    const ownsMore = async () => {
      if (!last || last.createdAt === null || plan.filtered) return true;
      const at = last.createdAt;
      const seen = scan.slice(0, (cut >= 0 ? cut : scan.length - 1) + 1).filter((i) => i.createdAt === at).map((i) => i.id);
      return ownsMoreObjects(deps, access.projectId, plan.type, { op, createdAt: at, seen });
    };
    if (cut >= 0) {
      hasMore = moreUpstream && (await ownsMore());
      break;
    }
    if (!moreUpstream || !last || !(await ownsMore())) break;
    if (pages >= MAX_PAGES || (pages >= PAGES_WITH_RESULTS && found.length > 0)) {
      if (found.length === 0) {
        throw new TollgateError('upstream_error', `Tollgate read ${pages} pages of the upstream list without finding an object of this project; narrow the list with its filters.`);
      }
      hasMore = true;
      break;
    }
    page = await nextPage(origin, query, plan.cursors, forward ? 'after' : 'before', last.id, Math.max(SCAN_PAGE, Number.isFinite(target) ? target : 0));
    pages++;
  }
  const data = (forward ? found : found.reverse()).map((i) => i.value);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

async function nextPage(origin: Origin, query: URLSearchParams, cursors: ListCursors, cursor: 'after' | 'before', id: string, limit: number): Promise<Page> {
  const params = new URLSearchParams(query);
  params.delete(cursors.after);
  params.delete(cursors.before);
  params.set(cursors[cursor], id);
  params.set('limit', String(limit));
  const { inner, req } = origin;
  const up = await inner.send({ ...req, method: 'GET', search: `?${params}`, headers: { ...req.headers }, body: null });
  const buf = await up.body.readAll();
  if (up.statusCode !== 200) {
    throw new TollgateError('upstream_error', `The upstream provider '${inner.name}' answered ${up.statusCode} to a further page of the list.`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new TollgateError('upstream_error', `The upstream provider '${inner.name}' answered a list with malformed JSON.`);
  }
  return readPage(answer, inner.name);
}
