import { useState } from 'preact/hooks';
import { deleteInvite, listInvites, listUsers, removeUser, setUserRole } from '../../api-client.js';
import { Alert } from '../../components/alert.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { TrashIcon } from '../../components/icons.js';
import { LoadError } from '../../components/load-error.js';
import { formatDate } from '../../format.js';
import { isOwner, useSession } from '../../session.js';
import type { Invite, OrgRole } from '../../types.js';
import { useAction } from '../../use-action.js';
import { useResource } from '../../use-resource.js';
import { InviteForm } from './invite-form.js';

/** Organization members and their roles; owners invite, change roles and remove. */
export function MembersSection() {
  const { account } = useSession();
  const owner = isOwner(account);
  const users = useResource(() => listUsers(), []);
  const invites = useResource(() => (owner ? listInvites() : Promise.resolve([] as Invite[])), [owner]);
  const { error, run } = useAction();
  const [withdrawing, setWithdrawing] = useState<Invite | null>(null);
  const act = async (fn: () => Promise<unknown>, reload: () => void) => {
    await run(async () => {
      await fn();
      reload();
    });
  };
  const pending = (invites.data ?? []).filter((i) => i.status !== 'accepted');
  return (
    <section class="card" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <LoadError error={users.error} retry={users.reload} what="members" />
      <LoadError error={invites.error} retry={invites.reload} what="invitations" />
      <Alert message={error} />
      <table class="table compact">
        <caption class="visually-hidden">Organization members</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Added</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => {
            const self = u.id === account.user.id;
            return (
              <tr key={u.id}>
                <th scope="row" data-label="Name">
                  {u.name}
                  {self && <span class="tag">you</span>}
                </th>
                <td data-label="Email" class="break">
                  {u.email}
                </td>
                <td data-label="Role">
                  {owner && !self ? (
                    <select
                      class="input input-small"
                      aria-label={`Role of ${u.email}`}
                      value={u.role}
                      onChange={(e) => act(() => setUserRole(u.id, e.currentTarget.value as OrgRole), users.reload)}
                    >
                      <option value="owner">Owner</option>
                      <option value="reader">Reader</option>
                    </select>
                  ) : u.role === 'owner' ? (
                    'Owner'
                  ) : (
                    'Reader'
                  )}
                </td>
                <td data-label="Added">{formatDate(u.added_at)}</td>
                <td class="cell-actions">
                  {owner && !self && (
                    <button
                      type="button"
                      class="icon-button icon-button-danger"
                      aria-label={`Remove ${u.email}`}
                      onClick={() => {
                        if (confirm(`Remove ${u.email}? Their keys are revoked and their sessions end.`)) {
                          act(() => removeUser(u.id), users.reload);
                        }
                      }}
                    >
                      <TrashIcon />
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {owner && (
        <>
          <InviteForm onInvited={invites.reload} />
          {pending.length > 0 && (
            <table class="table compact">
              <caption>Pending invitations</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {pending.map((i) => (
                  <tr key={i.id}>
                    <th scope="row" data-label="Email" class="break">
                      {i.email}
                    </th>
                    <td data-label="Role">{i.role === 'owner' ? 'Owner' : 'Reader'}</td>
                    <td data-label="Status">
                      <span class={`badge badge-${i.status}`}>{i.status}</span>
                    </td>
                    <td data-label="Expires">{formatDate(i.expires_at)}</td>
                    <td class="cell-actions">
                      <button
                        type="button"
                        class="icon-button icon-button-danger"
                        aria-label={`Withdraw invitation for ${i.email}`}
                        onClick={() => setWithdrawing(i)}
                      >
                        <TrashIcon />
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {withdrawing && (
        <ConfirmDialog
          title="Withdraw invitation"
          action="Withdraw invitation"
          busyLabel="Withdrawing…"
          work={() => deleteInvite(withdrawing.id)}
          onClose={(changed) => {
            setWithdrawing(null);
            if (changed) invites.reload();
          }}
        >
          The invitation link for <strong class="break">{withdrawing.email}</strong> stops working at once. You can invite them again later.
        </ConfirmDialog>
      )}
    </section>
  );
}
