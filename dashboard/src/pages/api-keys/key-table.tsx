import { describePermissions } from '../../components/permissions-field.js';
import { PencilIcon, RotateIcon, TrashIcon } from '../../components/icons.js';
import { formatDate } from '../../format.js';
import type { OrgUser, ProjectApiKey } from '../../types.js';

interface KeyTableProps {
  keys: ProjectApiKey[];
  users: Map<string, OrgUser>;
  /** Whether the signed-in user may change this key. */
  canManage: (key: ProjectApiKey) => boolean;
  onEdit: (key: ProjectApiKey) => void;
  onRotate: (key: ProjectApiKey) => void;
  onRevoke: (key: ProjectApiKey) => void;
}

function createdBy(key: ProjectApiKey, users: Map<string, OrgUser>): string {
  const { type, id } = key.created_by;
  if (type === 'user' && id) return users.get(id)?.name ?? users.get(id)?.email ?? id;
  if (type === 'admin_api_key') return 'Admin key';
  if (type === 'cli') return 'CLI';
  if (type === 'system') return 'System';
  return type;
}

function lastUsed(key: ProjectApiKey): string {
  return key.last_used_at ? formatDate(key.last_used_at) : 'Never';
}

const STATUS_LABEL: Record<ProjectApiKey['status'], string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired', exposed: 'Exposed', suspended: 'Suspended' };

/** One row per key. On narrow screens CSS lays each row out as a card (labels come from data-label). */
export function KeyTable({ keys, users, canManage, onEdit, onRotate, onRevoke }: KeyTableProps) {
  return (
    <table class="table key-table">
      <caption class="visually-hidden">Secret keys of this project</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Secret key</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Created by</th>
          <th scope="col">Permissions</th>
          <th scope="col">Status</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {keys.map((key) => {
          const isActive = key.status === 'active';
          const manages = canManage(key);
          return (
            <tr key={key.id} data-key-id={key.id} data-status={key.status}>
              <th scope="row" data-label="Name" class="cell-name">
                {key.name}
                {key.owner?.type === 'service_account' && <span class="tag">service account</span>}
              </th>
              <td data-label="Secret key">
                <code class="mono">{key.redacted_value}</code>
              </td>
              <td data-label="Created">{formatDate(key.created_at)}</td>
              <td data-label="Last used">{lastUsed(key)}</td>
              <td data-label="Created by">{createdBy(key, users)}</td>
              <td data-label="Permissions">{describePermissions(key.permissions)}</td>
              <td data-label="Status">
                <span class={`badge badge-${key.status}`}>{STATUS_LABEL[key.status]}</span>
              </td>
              <td class="cell-actions">
                {manages && key.status !== 'revoked' && (
                  <div class="row-actions">
                    {isActive && (
                      <button type="button" class="icon-button" aria-label={`Edit ${key.name}`} title="Edit" onClick={() => onEdit(key)}>
                        <PencilIcon />
                      </button>
                    )}
                    {isActive && (
                      <button type="button" class="icon-button" aria-label={`Rotate ${key.name}`} title="Rotate" onClick={() => onRotate(key)}>
                        <RotateIcon />
                      </button>
                    )}
                    <button
                      type="button"
                      class="icon-button icon-button-danger"
                      aria-label={`Revoke ${key.name}`}
                      title="Revoke"
                      onClick={() => onRevoke(key)}
                    >
                      <TrashIcon />
                    </button>
                  </div>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
