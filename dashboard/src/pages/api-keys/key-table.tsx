import { PencilIcon, RotateIcon, TrashIcon } from '../../components/icons.js';
import { describePermissions } from '../../components/permissions-field.js';
import { formatDate } from '../../format.js';
import { keyHref } from '../../router.js';
import type { OrgUser, ProjectApiKey } from '../../types.js';
import { keyActions } from '../../../../src/core/roles.js';
import { KeyBadges } from './key-badges.js';

interface KeyTableProps {
  keys: ProjectApiKey[];
  users: Map<string, OrgUser>;
  /** Whether the signed-in user may change, rotate and revoke this key (a project member: only their own). */
  canManage: (key: ProjectApiKey) => boolean;
  nowSec: number;
  caption: string;
  onEdit: (key: ProjectApiKey) => void;
  onRotate: (key: ProjectApiKey) => void;
  onRevoke: (key: ProjectApiKey) => void;
  onEndGrace: (key: ProjectApiKey) => void;
  /** The keys' project is archived: the gateway refuses its keys and the server refuses to change or rotate them. */
  projectArchived?: boolean;
}

/** Who made a key, in words. */
export function createdBy(key: ProjectApiKey, users: Map<string, OrgUser>): string {
  const { type, id } = key.created_by;
  if (type === 'user' && id) return users.get(id)?.name || users.get(id)?.email || id;
  if (type === 'admin_api_key' || type === 'api_key') return 'Admin key';
  if (type === 'cli') return 'CLI';
  if (type === 'system') return 'System';
  return type;
}

/** Whose a key is: a user's name, or a service account's. */
export function ownerLabel(key: ProjectApiKey): string {
  if (key.owner?.type === 'service_account') return key.owner.service_account?.name ?? 'Service account';
  if (key.owner?.type === 'user') return key.owner.user?.name || key.owner.user?.email || 'User';
  return '—';
}

export const STATUS_LABEL: Record<ProjectApiKey['status'], string> = {
  active: 'Active',
  revoked: 'Revoked',
  expired: 'Expired',
  exposed: 'Exposed',
  suspended: 'Suspended',
};

/**
 * One row per key. A name of any length stays in its column (cut with an ellipsis, the whole name in its title and
 * on the key's page), so every row's actions stay on screen. On narrow screens CSS lays each row out as a card.
 */
export function KeyTable({ keys, users, canManage, nowSec, caption, onEdit, onRotate, onRevoke, onEndGrace, projectArchived = false }: KeyTableProps) {
  return (
    <div class="table-wrap">
      <table class="table key-table">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Secret key</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Owner</th>
            <th scope="col">Permissions</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const mayChange = canManage(key);
            const actions = keyActions(key.status);
            return (
              <tr key={key.id} data-key-id={key.id} data-status={key.status}>
                <th scope="row" data-label="Name" class="cell-name">
                  <div class="name-block">
                    <a class="key-name" href={keyHref(key.project_id, key.id)} title={key.name}>
                      {key.name}
                    </a>
                    <KeyBadges apiKey={key} nowSec={nowSec} onEndGrace={mayChange && !projectArchived ? () => onEndGrace(key) : undefined} />
                  </div>
                </th>
                <td data-label="Secret key">
                  <code class="mono nowrap">{key.redacted_value}</code>
                </td>
                <td data-label="Created" class="nowrap">
                  {formatDate(key.created_at)}
                </td>
                <td data-label="Last used" class="nowrap">
                  {key.last_used_at ? formatDate(key.last_used_at) : 'Never'}
                </td>
                <td data-label="Owner" class="cell-owner">
                  <span class="owner-name" title={`Created by ${createdBy(key, users)}`}>
                    {ownerLabel(key)}
                  </span>
                  {key.owner?.type === 'service_account' && <span class="tag">service account</span>}
                </td>
                <td data-label="Permissions" class="nowrap">
                  {describePermissions(key.permissions)}
                </td>
                <td data-label="Status">
                  {projectArchived && key.status !== 'revoked' ? (
                    <span class="badge badge-archived" title="Its project is archived: the gateway refuses this key">
                      Not usable
                    </span>
                  ) : (
                    <span class={`badge badge-${key.status}`}>{STATUS_LABEL[key.status]}</span>
                  )}
                </td>
                <td class="cell-actions">
                  {/* Every key not revoked yet can be revoked, as the server allows: an exposed, expired or suspended one
                      too (a leaked key is cleaned up here). An expired key can still be edited (its expiry moved); only an
                      active one rotated. An archived project's keys can still be revoked, not changed or rotated. */}
                  {mayChange && actions.revoke && (
                    <div class="row-actions">
                      {!projectArchived && actions.edit && (
                        <button type="button" class="icon-button" aria-label={`Edit ${key.name}`} title="Edit" onClick={() => onEdit(key)}>
                          <PencilIcon />
                        </button>
                      )}
                      {!projectArchived && actions.rotate && (
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
    </div>
  );
}
