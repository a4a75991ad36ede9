import { resolveNames } from '../../api-client.js';
import { formatDateTime } from '../../format.js';
import type { AuditLog, NamedObject } from '../../types.js';
import { useResource } from '../../use-resource.js';
import { detailsOf, eventLabel, idsOf, str, summary } from './audit-summary.js';

export { eventLabel };

function actorLabel(e: AuditLog, names: Map<string, NamedObject>): string {
  const a = e.actor;
  if (!a) {
    const t = e.tollgate_actor;
    if (t?.type === 'system') return 'Tollgate';
    if (t?.type === 'cli') return `Command line${t.id ? ` (${t.id})` : ''}`;
    if (t?.type === 'reporter') return `Leak report${t.id ? ` (${t.id})` : ''}`;
    return t?.type ?? '—';
  }
  if (a.type === 'session') return a.session?.user.email ?? 'Someone signing in';
  if (a.type === 'api_key') {
    const id = a.api_key?.id ?? '';
    const name = names.get(id)?.name;
    return `${a.api_key?.object === 'organization.admin_api_key' ? 'Admin key' : 'Key'} ${name ? `“${name}”` : id}`;
  }
  return a.type;
}

function subjectLabel(e: AuditLog, names: Map<string, NamedObject>): { name: string; id: string } {
  const d = detailsOf(e);
  const id = typeof d.id === 'string' ? d.id : '';
  const named = names.get(id);
  const name = named?.name ?? str(d.data?.name) ?? '';
  const fallback = str(d.data?.email ?? d.email);
  return { name: name || (named?.detail ?? fallback), id };
}

/** Audit entries as a table, with names looked up for the ids they carry. */
export function AuditEntries({ entries, caption }: { entries: AuditLog[]; caption: string }) {
  const ids = [...new Set(entries.flatMap(idsOf))];
  const names = useResource(() => resolveNames(ids).catch(() => new Map<string, NamedObject>()), [ids.join(',')]);
  const known = names.data ?? new Map<string, NamedObject>();
  if (entries.length === 0) return <p class="muted">No audit entries.</p>;
  return (
    <table class="table compact audit-table">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Event</th>
          <th scope="col">Actor</th>
          <th scope="col">Project</th>
          <th scope="col">Subject</th>
          <th scope="col">Details</th>
          <th scope="col">IP address</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => {
          const subject = subjectLabel(e, known);
          return (
            <tr key={e.id} data-type={e.type}>
              <td data-label="Time" class="nowrap">
                {formatDateTime(e.effective_at)}
              </td>
              <th scope="row" data-label="Event">
                {eventLabel(e.type)}
                <span class="event-code mono">{e.type}</span>
              </th>
              <td data-label="Actor" class="wrap">
                {actorLabel(e, known)}
              </td>
              <td data-label="Project" class="break">
                {e.project?.name ?? '—'}
              </td>
              <td data-label="Subject" class="break">
                {subject.name && <span>{subject.name} </span>}
                {subject.id && <span class="mono muted small">{subject.id}</span>}
              </td>
              <td data-label="Details" class="break">
                {summary(e) || '—'}
              </td>
              <td data-label="IP address" class="mono">
                {e.ip_address ?? '—'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
