import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchFlows } from './flows-bench.js';
import { benchGateway, type GatewayReport } from './gateway-bench.js';
import { killAllChildren, removeTempDirs } from './processes.js';
import type { FlowsReport } from './flows-bench.js';
import { isNative, parseFlows } from './flows.js';
import { comparePassThrough, type FlowComparison, renderFlowsReport, type TranslationCost, translationCosts } from './flows-report.js';
import { type Comparison, compareToBare, renderGatewayReport } from './report.js';

// `npm run bench`: the gateway bench, the flows bench (Anthropic and OpenAI, native and translated), then the scanner
// bench (bench/scan-bench.ts) when it exists, and the others.
// BENCH_ONLY=gateway|flows|scan|usage|propagation|sizing runs one section; BENCH_DURATION (seconds, "10" or "10s") sets each measured run;
// BENCH_ROUNDS (default 3) sets how many interleaved rounds the gateway and flows sections run (the median round is reported);
// BENCH_FLOWS (comma-separated: openai, anthropic-native, openai-to-anthropic, anthropic-to-openai; all by default)
// picks the flows of the flows section.
// Progress goes to stderr, the report (markdown) to stdout and bench/results/latest.md, the numbers to
// bench/results/latest.json (both keep the previous results of sections that did not run).

interface ScanResult {
  mbPerSec: number;
  gitCommits: number;
  gitSeconds: number;
}

const RESULTS_FILE = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const REPORT_FILE = fileURLToPath(new URL('./results/latest.md', import.meta.url));
const SECTIONS = ['gateway', 'flows', 'scan', 'usage', 'propagation', 'sizing'] as const;
const SCAN_BENCH = new URL('./scan-bench.ts', import.meta.url);
const SCAN_TIMEOUT_MS = 15 * 60_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

function durationSeconds(raw: string | undefined): number {
  if (!raw) return 10;
  const n = Number(raw.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 1) throw new Error(`BENCH_DURATION must be a number of seconds (≥ 1), got "${raw}"`);
  return Math.round(n);
}

function roundCount(raw: string | undefined): number {
  if (!raw) return 3;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ROUNDS must be a whole number ≥ 1, got "${raw}"`);
  return n;
}

/** Rejects after `ms` (the timer does not keep the process alive). */
function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms).unref());
}

async function gatewaySection(): Promise<{ report: GatewayReport; comparisons: Comparison[] }> {
  const durationS = durationSeconds(process.env.BENCH_DURATION);
  const warmupS = 3;
  const rounds = roundCount(process.env.BENCH_ROUNDS);
  const connections = [1, 32];
  // 20 measured runs per round (each may run twice on a busy host), 6 profiled ones, the every-key run (up to 45 s),
  // the sync-I/O run, start-ups, seeding.
  const budgetMs = (40 * rounds * (durationS + warmupS + 5) + 6 * (durationS + warmupS + 30) + 60 + 60 + 240) * 1000;
  log(
    `gateway bench: ${rounds} rounds of ${durationS} s per run (+${warmupS} s warm-up), connections ${connections.join(' and ')}; ` +
      `at most ${Math.round(budgetMs / 60_000)} min`,
  );
  const report = await Promise.race([
    benchGateway({ durationS, warmupS, rounds, keyCount: 10_000, rotatingKeyCount: 1_000, connections, log }),
    timeout(budgetMs, 'the gateway bench'),
  ]);
  return { report, comparisons: compareToBare(report.runs) };
}

async function scanSection(): Promise<ScanResult | null> {
  if (!existsSync(SCAN_BENCH)) {
    log('scanner bench: bench/scan-bench.ts not found; skipped');
    return null;
  }
  const mod = (await import(SCAN_BENCH.href)) as { benchScan?: () => Promise<ScanResult> };
  if (typeof mod.benchScan !== 'function') throw new Error('bench/scan-bench.ts does not export benchScan()');
  log('scanner bench…');
  return Promise.race([mod.benchScan(), timeout(SCAN_TIMEOUT_MS, 'the scanner bench')]);
}

function renderScan(s: ScanResult): string {
  return [
    '## Scanner',
    '',
    '| Files (MB/s) | Git history (commits) | Git history (s) |',
    '|---:|---:|---:|',
    `| ${s.mbPerSec} | ${s.gitCommits.toLocaleString('en')} | ${s.gitSeconds} |`,
    '',
  ].join('\n');
}

/** The report without the long lists the markdown already shows (the JSON is meant to be committed). */
function compact(r: GatewayReport): Record<string, unknown> {
  return {
    ...r,
    profiles: r.profiles.map(({ summary, ...p }) => ({
      ...p,
      busyMs: summary.busyMs,
      idleMs: summary.idleMs,
      windowMs: summary.windowMs,
      databaseStalls: summary.databaseStalls,
      components: summary.components.map((c) => [c.name, c.ms]),
      topSelf: summary.topSelf.slice(0, 8).map((c) => [c.name, c.ms]),
    })),
  };
}

async function flowsSection(): Promise<{ report: FlowsReport; passThrough: FlowComparison[]; costs: TranslationCost[] }> {
  const durationS = durationSeconds(process.env.BENCH_DURATION);
  const warmupS = 3;
  const rounds = roundCount(process.env.BENCH_ROUNDS);
  const flows = parseFlows(process.env.BENCH_FLOWS);
  const connections = [1, 32];
  const targets = flows.reduce((n, f) => n + (isNative(f) ? 2 : 1), 0);
  const budgetMs = (2 * targets * 2 * connections.length * rounds * (durationS + warmupS + 5) + 240) * 1000;
  log(`flows bench: ${flows.map((f) => f.name).join(', ')}; ${rounds} rounds of ${durationS} s per run; at most ${Math.round(budgetMs / 60_000)} min`);
  const report = await Promise.race([benchFlows({ durationS, warmupS, rounds, connections, flows, samples: 5, log }), timeout(budgetMs, 'the flows bench')]);
  return { report, passThrough: comparePassThrough(report.runs), costs: translationCosts(report.runs) };
}

/**
 * latest.md: this run's sections, and the previous file's sections (its `## ` headings) that did not run this time.
 * A section is known by its heading's first word(s): every heading a section writes starts with its HEADINGS entry.
 */
const HEADINGS: Record<(typeof SECTIONS)[number], string> = {
  gateway: '## Gateway',
  flows: '## Flows',
  scan: '## Scanner',
  usage: '## Usage API',
  propagation: '## Revocation propagation',
  sizing: '## Sizing',
};

/** Merges this run's markdown sections into the previous report's, in the order of SECTIONS. */
export function mergeReport(previous: string, ran: Partial<Record<(typeof SECTIONS)[number], string>>): string {
  const old = previous.split(/^(?=## )/m).filter((s) => s.startsWith('## '));
  const parts = SECTIONS.map((name) => ran[name] ?? old.find((s) => s.startsWith(HEADINGS[name])) ?? null).filter((s): s is string => s !== null);
  return `# Tollgate bench\n\n${parts.map((p) => `${p.trimEnd()}\n`).join('\n')}`;
}

function saveReport(ran: Partial<Record<(typeof SECTIONS)[number], string>>): void {
  let previous = '';
  try {
    previous = readFileSync(REPORT_FILE, 'utf8');
  } catch {
    // first run
  }
  writeFileSync(REPORT_FILE, mergeReport(previous, ran));
}

/** Keeps the previous numbers of a section that did not run this time. */
function saveResults(sections: Record<string, unknown>): void {
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run, or an unreadable file: start over
  }
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...previous, ...sections }, null, 2)}\n`);
}

/** Runs the gateway bench and the scanner section (BENCH_ONLY picks one); a failing section does not stop the other. */
export async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only && !(SECTIONS as readonly string[]).includes(only)) throw new Error(`BENCH_ONLY must be one of ${SECTIONS.join(', ')}, got "${only}"`);
  const sections: Record<string, unknown> = {};
  const out: string[] = ['# Tollgate bench', ''];
  /** Where each section's markdown starts in `out`, to save latest.md by section. */
  const starts: Array<[(typeof SECTIONS)[number], number]> = [];
  const mark = (name: (typeof SECTIONS)[number]) => starts.push([name, out.length]);
  if (!only || only === 'gateway') {
    mark('gateway');
    try {
      const { report, comparisons } = await gatewaySection();
      out.push(renderGatewayReport(report, comparisons));
      sections.gateway = { ...compact(report), comparisons };
    } catch (err) {
      process.exitCode = 1;
      out.push('## Gateway', '', `Failed: ${(err as Error).stack ?? String(err)}`, '');
    } finally {
      killAllChildren();
      removeTempDirs();
    }
  }
  if (!only || only === 'flows') {
    mark('flows');
    try {
      const { report, passThrough, costs } = await flowsSection();
      out.push(renderFlowsReport(report, passThrough, costs));
      sections.flows = { ...report, passThrough, translationCosts: costs };
    } catch (err) {
      process.exitCode = 1;
      out.push('## Flows', '', `Failed: ${(err as Error).stack ?? String(err)}`, '');
    } finally {
      killAllChildren();
      removeTempDirs();
    }
  }
  if (!only || only === 'scan') {
    mark('scan');
    try {
      const scan = await scanSection();
      if (scan) {
        out.push(renderScan(scan));
        sections.scanner = scan;
      }
    } catch (err) {
      process.exitCode = 1;
      out.push('## Scanner', '', `Failed: ${(err as Error).message}`, '');
    }
  }
  if (!only || only === 'usage') {
    mark('usage');
    try {
      log('usage query bench…');
      const { benchUsageQuery } = await import('./usage-bench.js');
      const usage = await Promise.race([benchUsageQuery(), timeout(20 * 60_000, 'the usage bench')]);
      sections.usage = usage;
      out.push(
        '## Usage API over a month',
        '',
        `${usage.events.toLocaleString('en')} events, ${usage.keys.toLocaleString('en')} keys, 31 daily buckets.`,
        '',
        '| query | SQLite | PostgreSQL |',
        '|---|---:|---:|',
        `| usage by project | ${usage.monthQueryMs.sqlite} ms | ${usage.monthQueryMs.postgres ?? '–'} ms |`,
        `| usage by key | ${usage.monthQueryByKeyMs.sqlite} ms | ${usage.monthQueryByKeyMs.postgres ?? '–'} ms |`,
        `| costs by line item | ${usage.monthCostsMs.sqlite} ms | ${usage.monthCostsMs.postgres ?? '–'} ms |`,
        `| costs by key (${usage.monthCostsByKey.results.toLocaleString('en')} results, JSON ready) | ${usage.monthCostsByKeyMs.sqlite} ms | ${usage.monthCostsByKeyMs.postgres ?? '–'} ms |`,
        `| costs of one key | ${usage.monthCostsOneKeyMs.sqlite} ms | ${usage.monthCostsOneKeyMs.postgres ?? '–'} ms |`,
        '',
        `Medians of 5 after a warm-up. The machine's 1-minute load average while they were timed: ${usage.loadAverage.sqlite} (SQLite), ${usage.loadAverage.postgres ?? '–'} (PostgreSQL), on ${usage.loadAverage.cpus} CPUs.`,
        '',
      );
    } catch (err) {
      process.exitCode = 1;
      out.push('## Usage API', '', `Failed: ${(err as Error).message}`, '');
    }
  }
  if (!only || only === 'propagation') {
    mark('propagation');
    try {
      const { benchPropagation } = await import('./propagation-bench.js');
      const p = await Promise.race([benchPropagation(), timeout(5 * 60_000, 'the propagation bench')]);
      if (p) {
        sections.propagation = p;
        const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
        out.push(
          '## Revocation propagation (3 instances on PostgreSQL + Redis, 1 on the database feed only)',
          '',
          '| path | p50 | max |',
          '|---|---:|---:|',
          `| Redis pub/sub | ${pct(p.redisMs, 0.5)} ms | ${Math.max(...p.redisMs)} ms |`,
          `| database change feed (1 s poll) | ${pct(p.databaseFeedMs, 0.5)} ms | ${Math.max(...p.databaseFeedMs)} ms |`,
          '',
        );
      }
    } catch (err) {
      process.exitCode = 1;
      out.push('## Revocation propagation', '', `Failed: ${(err as Error).message}`, '');
    } finally {
      killAllChildren();
    }
  }
  if (!only || only === 'sizing') {
    mark('sizing');
    try {
      const { benchSizing } = await import('./sizing-bench.js');
      const r = await Promise.race([benchSizing(durationSeconds(process.env.BENCH_DURATION)), timeout(10 * 60_000, 'the sizing bench')]);
      if (r) {
        sections.sizing = r;
        out.push(
          '## Sizing: one and two instances on PostgreSQL + Redis (non-streaming, 32 connections in all)',
          '',
          '| instances | req/s | p50 | p99 |',
          '|---:|---:|---:|---:|',
          `| 1 | ${r.one.rps.toLocaleString('en')} | ${r.one.p50Us} µs | ${r.one.p99Us} µs |`,
          `| 2 | ${r.two.rps.toLocaleString('en')} | ${r.two.p50Us} µs | ${r.two.p99Us} µs |`,
          '',
        );
      }
    } catch (err) {
      process.exitCode = 1;
      out.push('## Sizing', '', `Failed: ${(err as Error).message}`, '');
    } finally {
      killAllChildren();
    }
  }
  if (Object.keys(sections).length) {
    saveResults({ ...sections, savedAt: new Date().toISOString() });
    log(`results written to ${RESULTS_FILE}`);
  }
  const ran: Partial<Record<(typeof SECTIONS)[number], string>> = {};
  starts.forEach(([name, at], i) => {
    const text = out.slice(at, starts[i + 1]?.[1] ?? out.length).join('\n');
    if (text.trim()) ran[name] = text;
  });
  if (Object.keys(ran).length) {
    saveReport(ran);
    log(`report written to ${REPORT_FILE}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cleanUp = () => {
    killAllChildren();
    removeTempDirs();
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
  try {
    await main();
  } catch (err) {
    log(String((err as Error).stack ?? err));
    process.exitCode = 1;
  }
  // A section that timed out may still hold timers or sockets: the bench ends here regardless.
  process.exit();
}
