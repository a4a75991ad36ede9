import { useId, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { Alert } from '../../components/alert.js';
import { CopyButton } from '../../components/copy-button.js';
import { formatDate } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import { useAction } from '../../use-action.js';

/** The organization and project IDs (for OpenAI-Organization / OpenAI-Project headers), with copy buttons. */
export function OrganizationSection() {
  const { account, projects, reloadProjects } = useSession();
  const [name, setName] = useState('');
  const { error, run } = useAction();
  const nameId = useId();
  const create = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await api('POST', '/v1/organization/projects', { name: name.trim() });
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
          </tr>
        </thead>
        <tbody>
          {projects.map((p) => (
            <tr key={p.id}>
              <th scope="row" data-label="Name">
                {p.name}
              </th>
              <td data-label="Project ID">
                <span class="id-row">
                  <code class="mono">{p.id}</code>
                  <CopyButton text={p.id} label={`Copy ID of ${p.name}`} class="button button-small" />
                </span>
              </td>
              <td data-label="Created">{formatDate(p.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {isOwner(account) && (
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
    </section>
  );
}
