import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { AUDIT_EVENT_TYPES, AUDIT_EVENTS } from '../../../../src/core/audit-events.js';
import { listAuditLogs } from '../../api-client.js';
import { LoadError } from '../../components/load-error.js';
import { fromDateInput } from '../../format.js';
import { useSession } from '../../session.js';
import type { AuditLog } from '../../types.js';
import { AuditEntries } from './audit-entries.js';

/** The audit log, newest first, filtered by event type (every type the server can write), project and date. */
export function AuditLogSection() {
  const { allProjects } = useSession();
  const [type, setType] = useState('');
  const [project, setProject] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [entries, setEntries] = useState<AuditLog[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const ids = { type: useId(), project: useId(), from: useId(), to: useId() };
  // Each load's number: only the latest one's answer is shown. A slower answer to the filters chosen before replaced
  // the current filters' entries, and a "Load more" of the old filters appended to the new ones (found by an outside
  // review); use-resource.ts drops superseded answers the same way.
  const generation = useRef(0);

  const load = async (after: string | null) => {
    const mine = ++generation.current;
    const current = () => mine === generation.current;
    setLoading(true);
    setError(null);
    try {
      const page = await listAuditLogs({
        after,
        eventTypes: type ? [type] : undefined,
        projectIds: project ? [project] : undefined,
        from: from ? fromDateInput(from) : undefined,
        to: to ? fromDateInput(to) + 86_400 : undefined,
      });
      if (!current()) return;
      setEntries((prev) => (after ? [...prev, ...page.data] : page.data));
      setNext(page.has_more ? page.last_id : null);
    } catch (err) {
      if (current()) setError(err);
    } finally {
      if (current()) setLoading(false);
    }
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
            {AUDIT_EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {AUDIT_EVENTS[t]} ({t})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={ids.project}>Project</label>
          <select id={ids.project} class="input" value={project} onChange={(e) => setProject(e.currentTarget.value)}>
            <option value="">All projects</option>
            {allProjects.map((p) => (
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
      <LoadError error={error} retry={() => load(null)} what="audit log" />
      {entries.length === 0 && !loading && !error && <p class="muted">No events match these filters.</p>}
      {entries.length > 0 && <AuditEntries entries={entries} caption="Audit log entries" />}
      {next && (
        <button type="button" class="button" disabled={loading} onClick={() => load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}
