import { useEffect, useId, useMemo, useState } from 'preact/hooks';
import { listUsers, resolveNames, searchKeys } from '../../api-client.js';
import { LoadError } from '../../components/load-error.js';
import { ProjectPicker } from '../../components/project-picker.js';
import { Quickstart } from '../../components/quickstart.js';
import { formatNumber } from '../../format.js';
import { keyHref, replaceParams, useRoute } from '../../router.js';
import { canManageKey, canManageKeys, projectRole, useSession } from '../../session.js';
import type { KeyOrder, KeyStatus, OrgUser, ProjectApiKey } from '../../types.js';
import { useResource } from '../../use-resource.js';
import { CreateKeyDialog } from './create-key-dialog.js';
import { EditKeyDialog } from './edit-key-dialog.js';
import { EndGraceDialog } from './end-grace-dialog.js';
import { KeyTable, STATUS_LABEL } from './key-table.js';
import { RevokeKeyDialog } from './revoke-key-dialog.js';
import { RotateKeyDialog } from './rotate-key-dialog.js';

const PAGE_SIZE = 50;
const STATUSES: KeyStatus[] = ['active', 'expired', 'exposed', 'suspended', 'revoked'];
/** Revoked keys are history: hidden until asked for. */
const DEFAULT_STATUSES: KeyStatus[] = ['active', 'expired', 'exposed', 'suspended'];
const ORDERS: Array<{ id: KeyOrder; label: string }> = [
  { id: 'created_desc', label: 'Newest first' },
  { id: 'created_asc', label: 'Oldest first' },
  { id: 'last_used', label: 'Last used' },
  { id: 'name', label: 'Name' },
];

/**
 * Keys Tollgate disabled on its own (found exposed, or suspended for unusual activity): say so at the top. Read again
 * with the list after each change made on the page (`changes` counts them): a key revoked stayed named here.
 */
function DisabledKeysBanner({ projectId, changes }: { projectId: string; changes: number }) {
  const disabled = useResource(() => searchKeys(projectId, { status: ['exposed', 'suspended'], limit: 10 }), [projectId, changes], { keepStale: true });
  const keys = disabled.data?.data ?? [];
  if (keys.length === 0) return null;
  const more = (disabled.data?.total ?? 0) - keys.length;
  return (
    <div class="banner banner-danger" role="alert">
      {keys.map((k) =>
        k.status === 'exposed' ? (
          <p key={k.id}>
            <a href={keyHref(k.project_id, k.id)} class="break">
              <strong>{k.name}</strong>
            </a>{' '}
            ({k.redacted_value}) was disabled because it was found exposed
            {k.exposed_url ? (
              <>
                {' '}
                at <code class="break">{k.exposed_url}</code>
              </>
            ) : null}
            . Remove it from where it leaked and create a new key.
          </p>
        ) : (
          <p key={k.id}>
            <a href={keyHref(k.project_id, k.id)} class="break">
              <strong>{k.name}</strong>
            </a>{' '}
            ({k.redacted_value}) was suspended because of unusual activity. See the audit log under Settings.
          </p>
        ),
      )}
      {more > 0 && <p>And {formatNumber(more)} more: filter the list by status to see them.</p>}
    </div>
  );
}

type OpenDialog = { kind: 'create' } | { kind: 'edit' | 'rotate' | 'revoke' | 'grace'; key: ProjectApiKey } | null;

function parseStatuses(param: string | null): KeyStatus[] {
  if (param === null) return DEFAULT_STATUSES;
  return param.split(',').filter((s): s is KeyStatus => (STATUSES as string[]).includes(s));
}

/** The API keys page: the selected project's keys, searched, filtered, sorted and paged by the server. */
export function ApiKeysPage() {
  const { account, projectId, projects, allProjects } = useSession();
  // A project opened by its address may be archived (a bookmark): its keys are shown, but none of them works.
  const archivedProject = allProjects.find((p) => p.id === projectId && p.status === 'archived') ?? null;
  const route = useRoute();
  const search = route.params.get('q') ?? '';
  const orderParam = route.params.get('order') as KeyOrder | null;
  const order: KeyOrder = ORDERS.some((o) => o.id === orderParam) ? (orderParam as KeyOrder) : 'created_desc';
  const statuses = parseStatuses(route.params.get('status'));
  // A service account's (or a user's) keys only, from the service accounts settings.
  const ownerId = route.params.get('owner') ?? '';
  const ownerName = useResource(() => (ownerId ? resolveNames([ownerId]).then((m) => m.get(ownerId)?.name ?? ownerId) : Promise.resolve('')), [ownerId]);
  const statusKey = statuses.join(',');
  const [text, setText] = useState(search);
  const [open, setOpen] = useState<OpenDialog>(null);
  // Counts the changes made on the page, for what is read again beside the list after each.
  const [changes, setChanges] = useState(0);
  const ids = { search: useId(), order: useId() };

  // The search box updates the list a moment after typing stops (and the address, so a reload keeps it).
  useEffect(() => {
    if (text === search) return;
    const t = setTimeout(() => replaceParams({ q: text || null }), 250);
    return () => clearTimeout(t);
  }, [text, search]);

  // Pages are read by cursor: the cursors of the pages before this one, kept per query.
  const queryKey = `${projectId}|${search}|${statusKey}|${order}|${ownerId}`;
  const [paging, setPaging] = useState<{ key: string; cursors: Array<string | null> }>({ key: queryKey, cursors: [null] });
  const cursors = paging.key === queryKey ? paging.cursors : [null];
  const after = cursors[cursors.length - 1];

  const keys = useResource(
    () => (projectId ? searchKeys(projectId, { search, status: statuses, order, after, limit: PAGE_SIZE, ownerId: ownerId || undefined }) : Promise.resolve(null)),
    [projectId, search, statusKey, order, after, ownerId],
  );
  const users = useResource(() => listUsers().catch(() => [] as OrgUser[]), []);
  const usersById = useMemo(() => new Map((users.data ?? []).map((u) => [u.id, u])), [users.data]);
  const canManage = canManageKeys(account, projectId);
  const canCreateAnywhere = projects.some((p) => canManageKeys(account, p.id));
  const closeDialog = (changed: boolean) => {
    setOpen(null);
    if (changed) {
      keys.reload();
      setChanges((n) => n + 1);
    }
  };
  const page = keys.data;
  const list = page?.data ?? [];
  const counts = page?.status_counts;
  const projectTotal = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null;
  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const nowSec = Math.floor(Date.now() / 1000);
  const filtered = search !== '' || ownerId !== '' || statusKey !== DEFAULT_STATUSES.join(',');

  // Unchecking the last status shows every key rather than none.
  const setStatuses = (next: KeyStatus[]) => {
    const ordered = next.length ? STATUSES.filter((s) => next.includes(s)) : STATUSES;
    replaceParams({ status: ordered.join(',') === DEFAULT_STATUSES.join(',') ? null : ordered.join(',') });
  };

  return (
    <>
      <div class="page-head">
        <div>
          <h1>API keys</h1>
          <p class="lede">
            Your secret keys are listed below. Tollgate shows a secret only once, when it is created. Do not share your keys or put them in
            browser or other client-side code.
          </p>
        </div>
        <div class="page-tools">
          <ProjectPicker />
          {canCreateAnywhere && !archivedProject && (
            <button type="button" class="button button-primary" onClick={() => setOpen({ kind: 'create' })}>
              + Create new secret key
            </button>
          )}
        </div>
      </div>

      {archivedProject && (
        <div class="banner banner-danger" role="status">
          <p>
            <strong class="break">{archivedProject.name}</strong> is archived. Its keys no longer work: the gateway refuses them. Keys cannot be
            created, changed or rotated in an archived project; they can still be revoked.
          </p>
        </div>
      )}
      {!canManage && projectId && !archivedProject && (
        <p class="notice-inline">You can view this project's keys. Creating and changing them needs the project's owner or member role.</p>
      )}
      {projectId && !archivedProject && projectRole(account, projectId) === 'member' && (
        <p class="notice-inline">You can change, rotate and revoke the keys you own; other keys of this project need a project owner.</p>
      )}
      {projectId && <DisabledKeysBanner projectId={projectId} changes={changes} />}

      {projects.length === 0 && !archivedProject ? (
        <div class="empty">
          <h2>No projects yet</h2>
          <p>Keys belong to projects. An organization owner can create one under Settings.</p>
        </div>
      ) : archivedProject && projectTotal === 0 && search === '' && ownerId === '' ? (
        <div class="empty">
          <h2>No keys</h2>
          <p>This archived project has no keys, and none can be created in it.</p>
        </div>
      ) : projectTotal === 0 && search === '' && ownerId === '' ? (
        <div class="empty">
          <h2>Create your first secret key</h2>
          <p>This project has no keys yet. Create one, then call the API with it:</p>
          <Quickstart />
        </div>
      ) : (
        <>
          <form class="toolbar key-filters" aria-label="Find keys" onSubmit={(e) => e.preventDefault()}>
            <div class="field grow">
              <label for={ids.search}>Search</label>
              <input
                id={ids.search}
                class="input"
                type="search"
                placeholder="Name, key id or sk-tg-…abcd"
                value={text}
                maxLength={256}
                onInput={(e) => setText(e.currentTarget.value)}
              />
            </div>
            <fieldset class="fieldset status-filter">
              <legend>Status</legend>
              <div class="checks">
                {STATUSES.map((s) => (
                  <label key={s} class="check">
                    <input
                      type="checkbox"
                      checked={statuses.includes(s)}
                      onChange={(e) => setStatuses(e.currentTarget.checked ? [...statuses, s] : statuses.filter((x) => x !== s))}
                    />
                    {STATUS_LABEL[s]}
                    {counts && <span class="count">{formatNumber(counts[s])}</span>}
                  </label>
                ))}
              </div>
            </fieldset>
            <div class="field">
              <label for={ids.order}>Sort by</label>
              <select id={ids.order} class="input" value={order} onChange={(e) => replaceParams({ order: e.currentTarget.value === 'created_desc' ? null : e.currentTarget.value })}>
                {ORDERS.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
          </form>
          {ownerId && (
            <p class="filter-note">
              Keys of <strong class="break">{ownerName.data || ownerId}</strong>{' '}
              <button type="button" class="button button-small" onClick={() => replaceParams({ owner: null })}>
                Show every owner's keys
              </button>
            </p>
          )}

          <LoadError error={keys.error} retry={keys.reload} what="keys" />
          {keys.loading && !page && !keys.error && (
            <p class="muted" aria-live="polite">
              Loading keys…
            </p>
          )}
          {page && list.length === 0 && (
            <div class="empty">
              <h2>No keys match</h2>
              <p>{search ? `No key of this project matches “${search}” with the statuses chosen.` : 'No key of this project has the statuses chosen.'}</p>
              {filtered && (
                <button
                  type="button"
                  class="button"
                  onClick={() => {
                    setText('');
                    replaceParams({ q: null, status: null, owner: null });
                  }}
                >
                  Clear filters
                </button>
              )}
            </div>
          )}
          {page && list.length > 0 && (
            <>
              <KeyTable
                keys={list}
                users={usersById}
                canManage={(key) => canManageKey(account, key)}
                nowSec={nowSec}
                caption="Secret keys of this project"
                onEdit={(key) => setOpen({ kind: 'edit', key })}
                onRotate={(key) => setOpen({ kind: 'rotate', key })}
                onRevoke={(key) => setOpen({ kind: 'revoke', key })}
                onEndGrace={(key) => setOpen({ kind: 'grace', key })}
                projectArchived={archivedProject !== null}
              />
              <nav class="pager" aria-label="Pages of keys">
                <p class="muted" aria-live="polite">
                  {formatNumber(first)}–{formatNumber(first + list.length - 1)} of {formatNumber(page.total)} {page.total === 1 ? 'key' : 'keys'}
                </p>
                <div class="pager-buttons">
                  <button
                    type="button"
                    class="button button-small"
                    disabled={cursors.length <= 1 || keys.loading}
                    onClick={() => setPaging({ key: queryKey, cursors: cursors.slice(0, -1) })}
                  >
                    Previous
                  </button>
                  <button
                    type="button"
                    class="button button-small"
                    disabled={!page.has_more || keys.loading}
                    onClick={() => setPaging({ key: queryKey, cursors: [...cursors, page.last_id] })}
                  >
                    Next
                  </button>
                </div>
              </nav>
            </>
          )}
          <details class="card details">
            <summary>How to call the API with a key</summary>
            <Quickstart />
          </details>
        </>
      )}

      {open?.kind === 'create' && <CreateKeyDialog onClose={closeDialog} />}
      {open?.kind === 'edit' && <EditKeyDialog apiKey={open.key} onClose={closeDialog} />}
      {open?.kind === 'rotate' && <RotateKeyDialog apiKey={open.key} onClose={closeDialog} />}
      {open?.kind === 'revoke' && <RevokeKeyDialog apiKey={open.key} onClose={closeDialog} />}
      {open?.kind === 'grace' && <EndGraceDialog apiKey={open.key} onClose={closeDialog} />}
    </>
  );
}
