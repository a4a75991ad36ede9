import { useId, useState } from 'preact/hooks';
import { addProjectMember, listProjectMembers, listUsers, removeProjectMember, setProjectMemberRole } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { ProjectPicker } from '../../components/project-picker.js';
import { isOwner, useSession } from '../../session.js';
import type { OrgUser, ProjectRole, ProjectUser } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';

const ROLES: ProjectRole[] = ['owner', 'member', 'reader'];
const ROLE_LABEL: Record<ProjectRole, string> = { owner: 'Owner', member: 'Member', reader: 'Reader' };

/** Members of the selected project; organization owners add, change and remove them. */
export function ProjectMembersSection() {
  const { account, projectId } = useSession();
  const owner = isOwner(account);
  const members = useResource(() => (projectId ? listProjectMembers(projectId) : Promise.resolve([] as ProjectUser[])), [projectId]);
  const users = useResource(() => (owner ? listUsers() : Promise.resolve([] as OrgUser[])), [owner]);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<ProjectRole>('member');
  const { error, run } = useAction();
  const ids = { user: useId(), role: useId() };
  if (!projectId) return null;
  const act = async (fn: () => Promise<unknown>) => {
    await run(async () => {
      await fn();
      members.reload();
    });
  };
  const memberIds = new Set((members.data ?? []).map((m) => m.id));
  const candidates = (users.data ?? []).filter((u) => !memberIds.has(u.id));
  return (
    <section class="card" aria-labelledby="project-members-title">
      <div class="section-head">
        <h2 id="project-members-title">Project members</h2>
        <ProjectPicker />
      </div>
      <LoadError error={members.error} retry={members.reload} what="project members" />
      <Alert message={error} />
      {members.data && members.data.length === 0 && <p class="muted">No members yet. Organization owners can manage every project.</p>}
      {members.data && members.data.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Project members</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.id}>
                <th scope="row" data-label="Name">
                  {m.name}
                </th>
                <td data-label="Email" class="break">
                  {m.email}
                </td>
                <td data-label="Role">
                  {owner ? (
                    <select
                      class="input input-small"
                      aria-label={`Project role of ${m.email}`}
                      value={m.role}
                      onChange={(e) => act(() => setProjectMemberRole(projectId, m.id, e.currentTarget.value as ProjectRole))}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ROLE_LABEL[r]}
                        </option>
                      ))}
                    </select>
                  ) : (
                    ROLE_LABEL[m.role]
                  )}
                </td>
                <td class="cell-actions">
                  {owner && (
                    <button
                      type="button"
                      class="icon-button icon-button-danger"
                      aria-label={`Remove ${m.email} from the project`}
                      onClick={() => act(() => removeProjectMember(projectId, m.id))}
                    >
                      <TrashIcon />
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {owner && candidates.length > 0 && (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            const chosen = userId || candidates[0]?.id;
            if (chosen) act(() => addProjectMember(projectId, chosen, role));
          }}
        >
          <div class="field grow">
            <label for={ids.user}>Add member</label>
            <select id={ids.user} class="input" value={userId || candidates[0]?.id} onChange={(e) => setUserId(e.currentTarget.value)}>
              {candidates.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.email})
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for={ids.role}>Role</label>
            <select id={ids.role} class="input" value={role} onChange={(e) => setRole(e.currentTarget.value as ProjectRole)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABEL[r]}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="button">
            Add to project
          </button>
        </form>
      )}
    </section>
  );
}
