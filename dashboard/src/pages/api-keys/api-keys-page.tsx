import { useMemo, useState } from 'preact/hooks';
import { errorMessage } from '../../api.js';
import { listAll, projectPath, WITH_REVOKED } from '../../api-lists.js';
import { Alert } from '../../components/alert.js';
import { ProjectPicker } from '../../components/project-picker.js';
import { Quickstart } from '../../components/quickstart.js';
import { canManageKey, canManageKeys, projectRole, useSession } from '../../session.js';
import type { OrgUser, ProjectApiKey } from '../../types.js';
import { useResource } from '../../use-resource.js';
import { CreateKeyDialog } from './create-key-dialog.js';
import { EditKeyDialog } from './edit-key-dialog.js';
import { KeyTable } from './key-table.js';
import { RevokeKeyDialog } from './revoke-key-dialog.js';
import { RotateKeyDialog } from './rotate-key-dialog.js';

/** Keys Tollgate disabled on its own (found exposed, or suspended for unusual activity): say so at the top. */
function DisabledKeysBanner({ keys }: { keys: ProjectApiKey[] }) {
  const exposed = keys.filter((k) => k.status === 'exposed');
  const suspended = keys.filter((k) => k.status === 'suspended');
  if (exposed.length === 0 && suspended.length === 0) return null;
  return (
    <div class="banner banner-danger" role="alert">
      {exposed.map((k) => (
        <p key={k.id}>
          <strong>{k.name}</strong> ({k.redacted_value}) was disabled because it was found exposed
          {k.exposed_url ? (
            <>
              {' '}
              at <code>{k.exposed_url}</code>
            </>
          ) : null}
          . Remove it from where it leaked and create a new key.
        </p>
      ))}
      {suspended.map((k) => (
        <p key={k.id}>
          <strong>{k.name}</strong> ({k.redacted_value}) was suspended because of unusual activity. See the audit log under Settings.
        </p>
      ))}
    </div>
  );
}

type OpenDialog = { kind: 'create' } | { kind: 'edit' | 'rotate' | 'revoke'; key: ProjectApiKey } | null;

/** The API keys page: the selected project's keys, and everything you can do to them. */
export function ApiKeysPage() {
  const { account, projectId, projects } = useSession();
  const [open, setOpen] = useState<OpenDialog>(null);
  const keys = useResource(() => (projectId ? listAll<ProjectApiKey>(projectPath(projectId, '/api_keys'), WITH_REVOKED) : Promise.resolve([])), [projectId]);
  const users = useResource(() => listAll<OrgUser>('/v1/organization/users').catch(() => [] as OrgUser[]), []);
  const usersById = useMemo(() => new Map((users.data ?? []).map((u) => [u.id, u])), [users.data]);
  const canManage = canManageKeys(account, projectId);
  const canCreateAnywhere = projects.some((p) => canManageKeys(account, p.id));
  const closeDialog = (changed: boolean) => {
    setOpen(null);
    if (changed) keys.reload();
  };
  const list = keys.data ?? [];

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
          {canCreateAnywhere && (
            <button type="button" class="button button-primary" onClick={() => setOpen({ kind: 'create' })}>
              + Create new secret key
            </button>
          )}
        </div>
      </div>

      {!canManage && projectId && (
        <p class="notice-inline">You can view this project's keys. Creating and changing them needs the project's owner or member role.</p>
      )}
      {canManage && projectRole(account, projectId) === 'member' && (
        <p class="notice-inline">You can change, rotate and revoke the keys you own; the project's owners manage the others.</p>
      )}
      <Alert message={keys.error ? errorMessage(keys.error) : null} />
      <DisabledKeysBanner keys={list} />

      {keys.loading && !keys.data ? (
        <p class="muted" aria-live="polite">
          Loading keys…
        </p>
      ) : projects.length === 0 ? (
        <div class="empty">
          <h2>No projects yet</h2>
          <p>Keys belong to projects. An organization owner can create one under Settings.</p>
        </div>
      ) : list.length === 0 && !keys.error ? (
        <div class="empty">
          <h2>Create your first secret key</h2>
          <p>This project has no keys yet. Create one, then call the API with it:</p>
          <Quickstart />
        </div>
      ) : (
        <>
          <KeyTable
            keys={list}
            users={usersById}
            canManage={(key) => canManageKey(account, key)}
            onEdit={(key) => setOpen({ kind: 'edit', key })}
            onRotate={(key) => setOpen({ kind: 'rotate', key })}
            onRevoke={(key) => setOpen({ kind: 'revoke', key })}
          />
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
    </>
  );
}
