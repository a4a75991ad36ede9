import { useCallback, useMemo, useState } from 'preact/hooks';
import { getBudgets, getCosts, getMeteredUsage, getRefusals, listAuditLogs, searchKeys } from '../../api-client.js';
import { CopyButton } from '../../components/copy-button.js';
import { LoadError } from '../../components/load-error.js';
import { describePermissions } from '../../components/permissions-field.js';
import { StandingMeter } from '../../components/standing.js';
import { formatCents, formatDateTime, formatNumber, formatUsd, intervalLabel } from '../../format.js';
import { keyActions } from '../../../../src/core/roles.js';
import { canManageKey, canManageKeys, isOwner, useSession } from '../../session.js';
import type { ProjectApiKey, Standing } from '../../types.js';
import { shown, useResource } from '../../use-resource.js';
import { AuditEntries } from '../settings/audit-entries.js';
import { RefusalTable } from '../usage/refusal-table.js';
import { StackedChart } from '../usage/stacked-chart.js';
import { costRows, costTotal, mergeKinds, stackByGroup, usageTotals } from '../usage/usage-data.js';
import { EditKeyDialog } from './edit-key-dialog.js';
import { EndGraceDialog } from './end-grace-dialog.js';
import { describeRateLimits, KeyBadges } from './key-badges.js';
import { ownerLabel, STATUS_LABEL } from './key-table.js';
import { RevokeKeyDialog } from './revoke-key-dialog.js';
import { RotateKeyDialog } from './rotate-key-dialog.js';

const DAY = 86_400;
const RANGES = [7, 30, 90];
const ALL_STATUSES = ['active', 'expired', 'exposed', 'suspended', 'revoked'] as const;

/** A key by id, with its rotation grace (the dashboard's list carries it; the id is unique, so the search finds one). */
async function loadKey(projectId: string, keyId: string): Promise<ProjectApiKey | null> {
  const page = await searchKeys(projectId, { search: keyId, status: [...ALL_STATUSES], limit: 5 });
  return page.data.find((k) => k.id === keyId) ?? null;
}

type OpenDialog = 'edit' | 'rotate' | 'revoke' | 'grace' | null;

/** One key's page: what it is, what it may do, what it used and was refused, its limits and its history. */
export function KeyPage({ keyId }: { keyId: string }) {
  const { account, projectId, allProjects } = useSession();
  const key = useResource(() => (projectId ? loadKey(projectId, keyId) : Promise.resolve(null)), [projectId, keyId]);
  const [open, setOpen] = useState<OpenDialog>(null);
  // Counts the changes made here, for what must be read again after each (the key's recent audit entries).
  const [changes, setChanges] = useState(0);
  const k = key.data;
  const project = allProjects.find((p) => p.id === projectId);
  // Per key, as the server decides: a project member changes only their own keys (core/roles.ts decideKeyManagement).
  // What the server lets this user do to the key (key-table.tsx): revoke any key not revoked yet, edit an active or
  // expired one, rotate an active one.
  const mayManage = !!k && canManageKey(account, k);
  const actions = keyActions(k?.status ?? 'revoked');
  const canManage = mayManage && actions.rotate;
  const canRevoke = mayManage && actions.revoke;
  const canEdit = mayManage && actions.edit;
  // An archived project's keys are refused at the gateway; the server still revokes them but no longer changes them.
  const archived = project?.status === 'archived';
  const othersKey = !!k && canManageKeys(account, projectId) && !canManageKey(account, k);
  const close = (changed: boolean) => {
    setOpen(null);
    if (changed) {
      key.reload();
      setChanges((n) => n + 1);
    }
  };
  const nowSec = Math.floor(Date.now() / 1000);

  return (
    <>
      <p class="breadcrumb">
        <a href={`#/api-keys${projectId ? `?project=${encodeURIComponent(projectId)}` : ''}`}>API keys</a>
        {project && <span class="muted"> · {project.name}</span>}
      </p>
      <LoadError error={key.error} retry={key.reload} what="key" />
      {!k && !key.loading && !key.error && (
        <div class="empty">
          <h1>Key not found</h1>
          <p>No key {keyId} in this project. It may belong to another project: pick it above the key list.</p>
        </div>
      )}
      {!k && key.loading && <p class="muted">Loading the key…</p>}
      {k && (
        <>
          <div class="page-head">
            <div>
              <h1 class="key-title break">{k.name}</h1>
              <p class="key-sub">
                <code class="mono">{k.redacted_value}</code>{' '}
                {archived && k.status !== 'revoked' ? (
                  <span class="badge badge-archived">Not usable</span>
                ) : (
                  <span class={`badge badge-${k.status}`}>{STATUS_LABEL[k.status]}</span>
                )}
              </p>
              {archived && (
                <p class="notice-inline">This key's project is archived: the gateway refuses the key, and it can no longer be changed or rotated.</p>
              )}
              <KeyBadges apiKey={k} nowSec={nowSec} onEndGrace={canManage && !archived ? () => setOpen('grace') : undefined} />
              {othersKey && <p class="muted">Only this key's owner or a project owner can change, rotate or revoke it.</p>}
            </div>
            {canRevoke && (
              <div class="page-tools">
                {!archived && canEdit && (
                  <button type="button" class="button" onClick={() => setOpen('edit')}>
                    Edit
                  </button>
                )}
                {!archived && canManage && (
                  <button type="button" class="button" onClick={() => setOpen('rotate')}>
                    Rotate
                  </button>
                )}
                <button type="button" class="button button-danger-outline" onClick={() => setOpen('revoke')}>
                  Revoke
                </button>
              </div>
            )}
          </div>
          <div class="key-grid">
            <KeyFacts apiKey={k} />
            <KeyLimits apiKey={k} projectId={projectId as string} />
          </div>
          <KeyUsage apiKey={k} projectId={projectId as string} />
          <section class="card" aria-labelledby="key-audit-title">
            <h2 id="key-audit-title">Recent changes</h2>
            {isOwner(account) ? (
              <KeyAudit keyId={k.id} changes={changes} />
            ) : (
              <p class="muted">Only organization owners can read the audit log.</p>
            )}
          </section>
        </>
      )}
      {k && open === 'edit' && <EditKeyDialog apiKey={k} onClose={close} />}
      {k && open === 'rotate' && <RotateKeyDialog apiKey={k} onClose={close} />}
      {k && open === 'revoke' && <RevokeKeyDialog apiKey={k} onClose={close} />}
      {k && open === 'grace' && <EndGraceDialog apiKey={k} onClose={close} />}
    </>
  );
}

function KeyFacts({ apiKey: k }: { apiKey: ProjectApiKey }) {
  return (
    <section class="card" aria-labelledby="key-facts-title">
      <h2 id="key-facts-title">Settings</h2>
      <dl class="facts">
        <dt>Name</dt>
        <dd class="break">{k.name}</dd>
        <dt>Key ID</dt>
        <dd class="id-row">
          <code class="mono">{k.id}</code>
          <CopyButton text={k.id} label="Copy key ID" class="button button-small" />
        </dd>
        <dt>Owner</dt>
        <dd>
          {ownerLabel(k)}
          {k.owner?.type === 'service_account' && <span class="tag">service account</span>}
        </dd>
        <dt>Created</dt>
        <dd>{formatDateTime(k.created_at)}</dd>
        <dt>Last used</dt>
        <dd>{k.last_used_at ? formatDateTime(k.last_used_at) : 'Never'}</dd>
        <dt>Expires</dt>
        <dd>{k.expires_at ? formatDateTime(k.expires_at) : 'Never'}</dd>
        {k.rotated_at ? (
          <>
            <dt>Rotated</dt>
            <dd>{formatDateTime(k.rotated_at)}</dd>
          </>
        ) : null}
        <dt>Permissions</dt>
        <dd>{describePermissions(k.permissions)}</dd>
        <dt>IP allowlist</dt>
        <dd class="break">{k.allowed_ips?.length ? k.allowed_ips.join(', ') : 'Any address'}</dd>
        <dt>Model allowlist</dt>
        <dd class="break">{k.allowed_models?.length ? k.allowed_models.join(', ') : 'Every model'}</dd>
        {k.exposed_url ? (
          <>
            <dt>Found exposed at</dt>
            <dd class="break">{k.exposed_url}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function KeyLimits({ apiKey: k, projectId }: { apiKey: ProjectApiKey; projectId: string }) {
  const standings = useResource(() => getBudgets({ projectId, apiKeyId: k.id }), [projectId, k.id, k.spend_limit?.threshold_amount, k.request_quota?.max_requests]);
  const rate = describeRateLimits(k.rate_limits);
  const name = (s: Standing) =>
    s.scope === 'api_key' ? (s.kind === 'spend' ? "This key's spend limit" : "This key's request quota") : s.scope === 'project' ? "The project's spend limit" : "The organization's spend limit";
  return (
    <section class="card" aria-labelledby="key-limits-title">
      <h2 id="key-limits-title">Limits and budget</h2>
      <dl class="facts">
        <dt>Rate limits</dt>
        <dd>{rate ?? 'None of its own'}</dd>
        <dt>Spend limit</dt>
        <dd>{k.spend_limit ? `${formatCents(k.spend_limit.threshold_amount)} ${intervalLabel(k.spend_limit.interval)}` : 'None of its own'}</dd>
        <dt>Request quota</dt>
        <dd>{k.request_quota ? `${formatNumber(k.request_quota.max_requests)} requests ${intervalLabel(k.request_quota.interval ?? 'total')}` : 'None'}</dd>
      </dl>
      <LoadError error={standings.error} retry={standings.reload} what="budgets" />
      {(standings.data ?? []).map((s) => (
        <StandingMeter key={`${s.scope}:${s.kind}`} s={s} name={name(s)} />
      ))}
      {standings.data && standings.data.length === 0 && <p class="muted">No spend limit or quota applies to this key.</p>}
    </section>
  );
}

/** The tag beside a model of a usage kind other than chat and completions. */
const KIND_TAG: Readonly<Record<string, string>> = { embeddings: 'embeddings', images: 'images', audio_speeches: 'speech', audio_transcriptions: 'transcriptions' };

function KeyUsage({ apiKey: k, projectId }: { apiKey: ProjectApiKey; projectId: string }) {
  const [days, setDays] = useState(7);
  // The last `days` UTC days, today's included: the days the server buckets by (a start one day back from the next
  // hour, rounded down to its UTC day, gave one day more than the button said).
  const end = Math.floor(Date.now() / 1000 / DAY) * DAY + DAY;
  const start = end - days * DAY;
  const usage = useResource(async () => {
    const q = { start_time: start, end_time: end, bucket_width: '1d' as const, group_by: ['model'], api_key_ids: [k.id], project_ids: [projectId] };
    return mergeKinds(await getMeteredUsage(q));
  }, [k.id, projectId, start, end]);
  // Cost from the Costs API, which counts every billed request as the key's budget does (usage results leave out
  // what no usage kind reports); by line item, for the cost of each model.
  const costs = useResource(
    async () => costRows(await getCosts({ start_time: start, end_time: end, group_by: ['line_item'], api_key_ids: [k.id], project_ids: [projectId] })),
    [k.id, projectId, start, end],
  );
  const refusals = useResource(() => getRefusals({ start, end, apiKeyIds: [k.id] }), [k.id, start, end]);
  const totals = usage.data ? usageTotals(usage.data) : null;
  const totalCost = costs.data ? costTotal(costs.data) : null;
  const series = useMemo(() => (usage.data ? stackByGroup(usage.data, (r) => r.model ?? '(none)', (r) => r.num_model_requests) : null), [usage.data]);
  const byModel = useMemo(() => {
    const m = new Map<string, { requests: number; input: number; output: number; cost: number; kind: string }>();
    const rowOf = (model: string | null, kind: string) => {
      const key = model ?? '(none)';
      let row = m.get(key);
      if (!row) {
        row = { requests: 0, input: 0, output: 0, cost: 0, kind };
        m.set(key, row);
      }
      return row;
    };
    for (const b of usage.data ?? []) {
      for (const r of b.results) {
        const row = rowOf(r.model, r.kind ?? 'completions');
        row.requests += r.num_model_requests;
        row.input += r.input_tokens ?? 0;
        row.output += r.output_tokens ?? 0;
      }
    }
    // Cost only once both have loaded, so that a row never shows a cost the total beside it does not.
    if (usage.data) for (const b of costs.data ?? []) for (const r of b.results) rowOf(r.model, 'completions').cost += r.cost_usd;
    return [...m.entries()].filter(([, v]) => v.requests > 0 || v.cost !== 0).sort((a, b) => b[1].requests - a[1].requests || b[1].cost - a[1].cost);
  }, [usage.data, costs.data]);
  const labelOf = useCallback((x: string) => x, []);
  const formatValue = useCallback((v: number) => formatNumber(Math.round(v)), []);

  return (
    <section class="card" aria-labelledby="key-usage-title">
      <div class="section-head">
        <h2 id="key-usage-title">Usage and outcomes</h2>
        <fieldset class="presets">
          <legend class="visually-hidden">Period</legend>
          {RANGES.map((d) => (
            <button key={d} type="button" class="button button-small" aria-pressed={days === d} onClick={() => setDays(d)}>
              Last {d} days
            </button>
          ))}
        </fieldset>
      </div>
      <LoadError error={usage.error} retry={usage.reload} what="usage" />
      <LoadError error={costs.error} retry={costs.reload} what="costs" />
      <div class="stats" aria-live="polite">
        <Stat label="Answered requests" value={shown(usage, totals?.requests, formatNumber)} testId="key-answered" />
        <Stat label="Refused requests" value={shown(refusals, refusals.data?.total, formatNumber)} testId="key-refused" />
        <Stat label="Input tokens" value={shown(usage, totals?.inputTokens, formatNumber)} testId="key-input-tokens" />
        <Stat label="Output tokens" value={shown(usage, totals?.outputTokens, formatNumber)} testId="key-output-tokens" />
        <Stat label="Cost" value={shown(costs, totalCost, formatUsd)} testId="key-cost" />
      </div>
      {series && series.groups.length > 0 && (
        <StackedChart series={series} labelOf={labelOf} formatValue={formatValue} hourly={false} integers title={`Answered requests per UTC day, by model, last ${days} days`} />
      )}
      <p class="hint">Days are UTC days (00:00 to 24:00 UTC), as the Usage and Costs APIs count them; today's is the last.</p>
      {byModel.length > 0 && (
        <table class="table compact">
          <caption class="table-caption">Answered requests by model</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                Input tokens
              </th>
              <th scope="col" class="num">
                Output tokens
              </th>
              <th scope="col" class="num">
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {byModel.map(([model, v]) => (
              <tr key={model}>
                <th scope="row" data-label="Model" class="mono">
                  {model}
                  {KIND_TAG[v.kind] && <span class="tag">{KIND_TAG[v.kind]}</span>}
                </th>
                <td data-label="Requests" class="num">
                  {formatNumber(v.requests)}
                </td>
                <td data-label="Input tokens" class="num">
                  {formatNumber(v.input)}
                </td>
                <td data-label="Output tokens" class="num">
                  {formatNumber(v.output)}
                </td>
                <td data-label="Cost" class="num">
                  {formatUsd(v.cost)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {usage.data && byModel.length === 0 && <p class="muted">No answered requests in this period.</p>}
      <h3>Refused requests</h3>
      <LoadError error={refusals.error} retry={refusals.reload} what="refusals" />
      {refusals.data && <RefusalTable report={refusals.data} caption="Refused requests of this key by reason" />}
    </section>
  );
}

/** The key's last audit entries, read again after each change made on the page (`changes` counts them). */
function KeyAudit({ keyId, changes }: { keyId: string; changes: number }) {
  const entries = useResource(() => listAuditLogs({ resourceIds: [keyId], limit: 10 }), [keyId, changes], { keepStale: true });
  return (
    <>
      <LoadError error={entries.error} retry={entries.reload} what="audit entries" />
      {entries.data && <AuditEntries entries={entries.data.data} caption="Recent audit entries of this key" />}
      {entries.data?.has_more && (
        <p>
          <a href="#/settings/audit-log">The whole audit log</a>
        </p>
      )}
    </>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div class="stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
    </div>
  );
}
