import { useId, useState } from 'preact/hooks';
import { archiveProject, createProject, renameProject } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { CopyButton } from '../../components/copy-button.js';
import { Dialog } from '../../components/dialog.js';
import { formatDate } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import type { Project } from '../../types.js';
import { useAction } from '../../use-action.js';

/** The organization and its projects (IDs for OpenAI-Organization / OpenAI-Project headers); owners create, rename and archive projects. */
export function OrganizationSection() {
  const { account, allProjects, reloadProjects } = useSession();
  const owner = isOwner(account);
  const [name, setName] = useState('');
  const { error, run } = useAction();
  const [renaming, setRenaming] = useState<Project | null>(null);
  const [archiving, setArchiving] = useState<Project | null>(null);
  const nameId = useId();
  const create = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await createProject(name.trim());
      setName('');
      reloadProjects();
    });
  };
  return (
    <section class="card" aria-labelledby="org-title">
      <h2 id="org-title">Organization</h2>
      <dl class="facts">
        <dt>Name</dt>
        <dd>{account.organization.name}</dd>
        <dt>Organization ID</dt>
        <dd class="id-row">
          <code class="mono">{account.organization.id}</code>
          <CopyButton text={account.organization.id} label="Copy organization ID" class="button button-small" />
        </dd>
      </dl>
      <h3>Projects</h3>
      <table class="table compact">
        <caption class="visually-hidden">Projects and their IDs</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Project ID</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {allProjects.map((p) => (
            <tr key={p.id} data-status={p.status}>
              <th scope="row" data-label="Name" class="break">
                {p.name}
              </th>
              <td data-label="Project ID">
                <span class="id-row">
                  <code class="mono">{p.id}</code>
                  <CopyButton text={p.id} label={`Copy ID of ${p.name}`} class="button button-small" />
                </span>
              </td>
              <td data-label="Created">{formatDate(p.created_at)}</td>
              <td data-label="Status">
                <span class={`badge badge-${p.status}`}>{p.status === 'archived' ? 'Archived' : 'Active'}</span>
              </td>
              <td class="cell-actions">
                {owner && p.status !== 'archived' && (
                  <div class="row-actions">
                    <button type="button" class="button button-small" aria-label={`Rename ${p.name}`} onClick={() => setRenaming(p)}>
                      Rename
                    </button>
                    <button type="button" class="button button-small" aria-label={`Archive ${p.name}`} onClick={() => setArchiving(p)}>
                      Archive
                    </button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {owner && (
        <form class="toolbar" onSubmit={create}>
          <div class="field grow">
            <label for={nameId}>New project name</label>
            <input id={nameId} class="input" required maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </div>
          <button type="submit" class="button" disabled={!name.trim()}>
            Create project
          </button>
          <Alert message={error} />
        </form>
      )}
      {renaming && (
        <RenameProjectDialog
          project={renaming}
          onClose={(changed) => {
            setRenaming(null);
            if (changed) reloadProjects();
          }}
        />
      )}
      {archiving && (
        <ArchiveProjectDialog
          project={archiving}
          onClose={(changed) => {
            setArchiving(null);
            if (changed) reloadProjects();
          }}
        />
      )}
    </section>
  );
}

function RenameProjectDialog({ project, onClose }: { project: Project; onClose: (changed: boolean) => void }) {
  const [name, setName] = useState(project.name);
  const { error, busy, run } = useAction();
  const id = useId();
  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await renameProject(project.id, name.trim());
      onClose(true);
    });
  };
  return (
    <Dialog title="Rename project" onClose={() => onClose(false)} busy={busy}>
      <form class="stack" onSubmit={submit}>
        <div class="field">
          <label for={id}>Project name</label>
          <input id={id} class="input" required maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <Alert message={error} />
        <div class="dialog-actions">
          <button type="button" class="button" disabled={busy} onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy || !name.trim()}>
            {busy ? 'Saving…' : 'Rename'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ArchiveProjectDialog({ project, onClose }: { project: Project; onClose: (changed: boolean) => void }) {
  return (
    <ConfirmDialog title="Archive project" action="Archive project" busyLabel="Archiving…" work={() => archiveProject(project.id)} onClose={onClose}>
      <strong class="break">{project.name}</strong> will be archived: its keys stop working at once and no key can be created in it. Its usage and audit
      history stay. An archived project cannot be brought back.
    </ConfirmDialog>
  );
}
