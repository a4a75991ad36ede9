import { type Command, Option } from 'commander';
import { callApi, listItems, pageCursor, projectIdOf, unexpectedAnswer } from './admin-client.js';
import { type Backend, openBackend } from './backend.js';
import { table, time } from './output.js';
import { cliClock } from './io.js';
import { parseWhen } from './when.js';

// `tollgate usage`: requests, tokens, cost and refusals per day or hour, from the admin Usage API
// (completions and embeddings added up), in-process on the data dir or against --server.

interface UsageOptions {
  json?: boolean;
  server?: string;
  adminKey?: string;
  project?: string;
  since: string;
  until?: string;
  by?: 'project' | 'key' | 'model';
  bucket: '1d' | '1h';
}

/** Where the command reads its environment and writes its output (tests pass their own). */
export interface UsageCommandIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
}

interface Row {
  start: string;
  start_time: number;
  project_id?: string | null;
  api_key_id?: string | null;
  model?: string | null;
  requests: number;
  input: number;
  cached: number;
  output: number;
  cost_usd: number;
  refused: number;
  cost_nanousd: number;
}

const GROUP_BY = { project: 'project_id', key: 'api_key_id', model: 'model' } as const;
// Every kind Tollgate meters (images and audio carry tokens only for token-priced models).
const KINDS = ['completions', 'embeddings', 'images', 'audio_speeches', 'audio_transcriptions'] as const;

type Result = Record<string, unknown> & { num_model_requests: number; num_refused_requests: number; cost_usd: number };

/** Fetches every page of one usage kind. */
async function fetchBuckets(b: Backend, kind: string, params: URLSearchParams): Promise<Array<{ start_time: number; results: Result[] }>> {
  const out: Array<{ start_time: number; results: Result[] }> = [];
  const path = `/v1/organization/usage/${kind}`;
  const nextCursor = pageCursor(path);
  let page = '';
  for (;;) {
    const q = new URLSearchParams(params);
    if (page) q.set('page', page);
    const res = await callApi(b, 'GET', `${path}?${q}`);
    const buckets = listItems<{ start_time: number; results: Result[] }>(res, path);
    if (buckets.some((bucket) => !Array.isArray(bucket?.results))) throw unexpectedAnswer('GET', path, 'a bucket without its results');
    out.push(...buckets);
    if (!res.has_more) return out;
    page = nextCursor(res.next_page);
  }
}

/** Gathers the rows of the report: one per bucket and group value that saw requests. */
export async function usageReport(b: Backend, o: UsageOptions, nowSec: number): Promise<{ rows: Row[]; total: Omit<Row, 'start' | 'start_time'> }> {
  const since = parseWhen(o.since, nowSec, '--since', 'ago');
  const until = o.until ? parseWhen(o.until, nowSec, '--until', 'ago') : undefined;
  if (until !== undefined && until <= since) throw new Error('--until must be after --since');
  const params = new URLSearchParams({ start_time: String(since), bucket_width: o.bucket, limit: o.bucket === '1h' ? '168' : '31' });
  if (until !== undefined) params.set('end_time', String(until));
  if (o.project) params.set('project_ids', await projectIdOf(b, o.project));
  const field = o.by ? GROUP_BY[o.by] : null;
  if (field) params.set('group_by', field);
  const rows = new Map<string, Row>();
  for (const kind of KINDS) {
    for (const bucket of await fetchBuckets(b, kind, params)) {
      for (const r of bucket.results) {
        const group = field ? ((r[field] as string | null) ?? null) : undefined;
        const key = `${bucket.start_time}\u0000${group ?? ''}`;
        let row = rows.get(key);
        if (!row) {
          row = { start: time(bucket.start_time), start_time: bucket.start_time, requests: 0, input: 0, cached: 0, output: 0, cost_usd: 0, refused: 0, cost_nanousd: 0 };
          if (field) row[field] = group;
          rows.set(key, row);
        }
        row.requests += r.num_model_requests;
        row.input += Number(r.input_tokens ?? 0);
        row.cached += Number(r.input_cached_tokens ?? 0);
        row.output += Number(r.output_tokens ?? 0);
        row.refused += r.num_refused_requests;
        // Add nano-dollars (integers) and convert once, so the column adds up exactly.
        row.cost_nanousd += Math.round(r.cost_usd * 1e9);
        row.cost_usd = row.cost_nanousd / 1e9;
      }
    }
  }
  const sorted = [...rows.values()].sort((a, b) => a.start_time - b.start_time || String(field ? a[field] : '').localeCompare(String(field ? b[field] : '')));
  const total = { requests: 0, input: 0, cached: 0, output: 0, cost_usd: 0, refused: 0, cost_nanousd: 0 };
  for (const r of sorted) {
    total.requests += r.requests;
    total.input += r.input;
    total.cached += r.cached;
    total.output += r.output;
    total.refused += r.refused;
    total.cost_nanousd += r.cost_nanousd;
  }
  total.cost_usd = total.cost_nanousd / 1e9;
  return { rows: sorted, total };
}

const usd = (v: number) => `$${v.toFixed(v !== 0 && Math.abs(v) < 0.01 ? 6 : 2)}`;

/** Adds `tollgate usage` to the program. */
export function registerUsageCommand(program: Command, io: UsageCommandIo = { env: process.env, out: (t) => process.stdout.write(t) }): void {
  program
    .command('usage')
    .description('requests, tokens, cost and refused requests per day or hour (completions and embeddings)')
    .option('--project <project>', 'only this project (id or name)')
    .option('--since <when>', 'from: unix seconds, ISO 8601 date or time (UTC without a zone), or 7d/12h/30m ago', '7d')
    .option('--until <when>', 'to (exclusive): unix seconds, ISO 8601 date or time (UTC without a zone), or 7d/12h/30m ago (default now)')
    .addOption(new Option('--by <dimension>', 'one row per project, key or model').choices(['project', 'key', 'model']))
    .addOption(new Option('--bucket <width>', 'bucket width').choices(['1d', '1h']).default('1d'))
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as UsageOptions;
      const backend = await openBackend({ server: o.server, adminKey: o.adminKey, readOnly: true }, io.env);
      try {
        const report = await usageReport(backend, o, Math.floor(cliClock()() / 1000));
        if (o.json) {
          io.out(`${JSON.stringify({ object: 'list', data: report.rows, total: report.total }, null, 2)}\n`);
          return;
        }
        const field = o.by ? GROUP_BY[o.by] : null;
        const columns = ['start', ...(field ? [field] : []), 'requests', 'input', 'cached', 'output', 'cost', 'refused'];
        const shown = [...report.rows, { start: 'total', ...report.total }].map((r) => ({ ...r, cost: usd(r.cost_usd) }));
        io.out(report.rows.length ? table(shown, columns) : table([], columns));
      } finally {
        await backend.close();
      }
    });
}
