import { useId, useState } from 'preact/hooks';
import { createInvite } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { CopyButton } from '../../components/copy-button.js';
import { useSession } from '../../session.js';
import type { OrgRole, ProjectRole } from '../../types.js';
import { useAction } from '../../use-action.js';

type InviteProjectRole = Exclude<ProjectRole, 'reader'>;

/** Makes an invitation link for someone's email; Tollgate sends no email, so the link is shown once to pass on. */
export function InviteForm({ onInvited }: { onInvited: () => void }) {
  const { projects } = useSession();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<OrgRole>('reader');
  const [projectId, setProjectId] = useState('');
  // An invitation makes a project member or owner only (services/invites.ts InviteProjectRole, as OpenAI's Invite
  // object): readers are added under Project members once they have joined.
  const [projectRole, setProjectRole] = useState<InviteProjectRole>('member');
  const { error, run } = useAction();
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const ids = { email: useId(), role: useId(), project: useId(), projectRole: useId() };
  const submit = async (e: Event) => {
    e.preventDefault();
    setLink(null);
    await run(async () => {
      const invite = await createInvite({
        email: email.trim(),
        role,
        ...(projectId ? { projects: [{ id: projectId, role: projectRole }] } : {}),
      });
      setLink({ email: invite.email, url: invite.accept_url ?? '' });
      setEmail('');
      onInvited();
    });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="invite-title">
      <h3 id="invite-title">Invite a member</h3>
      <p class="hint">Tollgate sends no email: it makes a one-time link for the address, which you pass on yourself.</p>
      <div class="toolbar">
        <div class="field grow">
          <label for={ids.email}>Email</label>
          <input id={ids.email} class="input" type="email" required autoComplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.role}>Organization role</label>
          <select id={ids.role} class="input" value={role} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
            <option value="reader">Reader</option>
            <option value="owner">Owner</option>
          </select>
        </div>
        <div class="field">
          <label for={ids.project}>Add to project</label>
          <select id={ids.project} class="input" value={projectId} onChange={(e) => setProjectId(e.currentTarget.value)}>
            <option value="">None</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        {projectId && (
          <div class="field">
            <label for={ids.projectRole}>Project role</label>
            <select id={ids.projectRole} class="input" value={projectRole} onChange={(e) => setProjectRole(e.currentTarget.value as InviteProjectRole)}>
              <option value="member">Member</option>
              <option value="owner">Owner</option>
            </select>
            <p class="hint">Readers are added under Project members once they have joined.</p>
          </div>
        )}
        <button type="submit" class="button button-primary">
          Create invite link
        </button>
      </div>
      <Alert message={error} />
      {link && (
        <div class="callout" role="status">
          <p>
            Send this link to <strong>{link.email}</strong>. It works once and expires in 7 days; it is not shown again.
          </p>
          <div class="secret-row">
            <input class="input mono" readOnly value={link.url} aria-label="Invitation link" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={link.url} label="Copy invitation link" />
          </div>
        </div>
      )}
    </form>
  );
}
