import { useEffect, useId, useState } from 'preact/hooks';
import { api, withQuery } from '../../api.js';
import { Alert } from '../../components/alert.js';
import { formatDateTime, fromDateInput } from '../../format.js';
import { useSession } from '../../session.js';
import type { AuditLog, ListPage } from '../../types.js';
import { useAction } from '../../use-action.js';

const EVENT_TYPES = [
  'api_key.created',
  'api_key.updated',
  'api_key.rotated',
  'api_key.deleted',
  'admin_api_key.created',
  'admin_api_key.deleted',
  'admin_api_key.used',
  'project.created',
  'project.updated',
  'project.archived',
  'user.added',
  'user.updated',
  'user.deleted',
  'user.password_changed',
  'invite.sent',
  'invite.accepted',
  'invite.deleted',
  'login.succeeded',
  'login.failed',
  'logout',
];

function actorLabel(entry: AuditLog): string {
  const a = entry.actor;
  if (a.type === 'session') return a.session?.user.email ?? 'Someone signing in';
  if (a.type === 'api_key') return a.api_key?.type === 'admin' ? `Admin key ${a.api_key.id}` : `Key ${a.api_key?.id ?? ''}`;
  return a.type;
}

function subject(entry: AuditLog): string {
  const details = entry[entry.type] as { id?: string | null; email?: string; data?: { email?: string; name?: string } } | undefined;
  return details?.data?.name ?? details?.data?.email ?? details?.email ?? details?.id ?? '';
}

/** The audit log, newest first, filtered by event type, project and date (OpenAI's audit log filters). */
export function AuditLogSection() {
  const { projects } = useSession();
  const [type, setType] = useState('');
  const [project, setProject] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [entries, setEntries] = useState<AuditLog[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const { error, busy: loading, run } = useAction();
  const ids = { type: useId(), project: useId(), from: useId(), to: useId() };

  const load = async (after: string | null) => {
    await run(async () => {
      const page = await api<ListPage<AuditLog>>(
        'GET',
        withQuery('/v1/organization/audit_logs', {
          limit: 50,
          after,
          'event_types[]': type ? [type] : undefined,
          'project_ids[]': project ? [project] : undefined,
          'effective_at[gte]': from ? fromDateInput(from) : undefined,
          'effective_at[lt]': to ? fromDateInput(to) + 86_400 : undefined,
        }),
      );
      setEntries((prev) => (after ? [...prev, ...page.data] : page.data));
      setNext(page.has_more ? page.last_id : null);
    });
  };
  // Reload from the first page whenever a filter changes.
  useEffect(() => {
    load(null);
  }, [type, project, from, to]);

  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Audit log filters">
        <div class="field">
          <label for={ids.type}>Event</label>
          <select id={ids.type} class="input" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">All events</option>
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.project}>Project</label>
          <select id={ids.project} class="input" value={project} onChange={(e) => setProject(e.currentTarget.value)}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.from}>From</label>
          <input id={ids.from} class="input" type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for={ids.to}>To</label>
          <input id={ids.to} class="input" type="date" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </div>
      </form>
      <Alert message={error} />
      {entries.length === 0 && !loading && !error && <p class="muted">No events match these filters.</p>}
      {entries.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Audit log entries</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Project</th>
              <th scope="col">Subject</th>
              <th scope="col">IP address</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td data-label="Time">{formatDateTime(e.effective_at)}</td>
                <th scope="row" data-label="Event" class="mono">
                  {e.type}
                </th>
                <td data-label="Actor" class="break">
                  {actorLabel(e)}
                </td>
                <td data-label="Project">{e.project?.name ?? '—'}</td>
                <td data-label="Subject" class="break mono">
                  {subject(e)}
                </td>
                <td data-label="IP address" class="mono">
                  {e.ip_address ?? '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" class="button" disabled={loading} onClick={() => load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}
