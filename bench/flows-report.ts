import type { Mode } from './chat-load.js';
import type { FlowRun, FlowsReport } from './flows-bench.js';
import { FLOWS, type FlowName, isNative, nativeFlowOf } from './flows.js';
import { MAX_OTHER_LOAD } from './gateway-bench.js';
import { type Comparison, compareToBare, TARGETS } from './report.js';

// The flows bench's numbers as comparisons and markdown: each native flow against the bare proxy (the gateway
// targets), each translated flow against the native flows (what translation costs per request).

export interface FlowComparison extends Comparison {
  flow: FlowName;
}

/** A translated flow against a native one in the same mode and connection count (both through Tollgate). */
export interface TranslationCost {
  flow: FlowName;
  /** The native flow it is compared with, and what they share: the upstream's API or the client's. */
  against: FlowName;
  same: 'upstream' | 'client';
  mode: Mode;
  connections: number;
  /**
   * Tollgate's CPU µs per request, translated minus native: the median of the differences paired by round (the two
   * ran within seconds of each other, so a slow spell of the machine hits both), else of the median rounds.
   */
  addedCpuUs: number | null;
  /** The smallest and largest of the per-round differences (null with fewer than two rounds). */
  addedCpuRangeUs: [number, number] | null;
  addedP50Us: number;
  throughputRatio: number;
}

/** Each native flow's Tollgate runs against the bare proxy's runs of the same flow. */
export function comparePassThrough(runs: FlowRun[]): FlowComparison[] {
  return Object.values(FLOWS)
    .filter(isNative)
    .flatMap((f) => compareToBare(runs.filter((r) => r.flow === f.name)).map((c) => ({ ...c, flow: f.name })));
}

/** Translated minus native CPU µs per request, paired by round when both kept every round's. */
function addedCpu(t: FlowRun, n: FlowRun): Pick<TranslationCost, 'addedCpuUs' | 'addedCpuRangeUs'> {
  const a = t.roundsCpuUs ?? [];
  const b = n.roundsCpuUs ?? [];
  const paired = a.length === b.length ? a.flatMap((x, i) => (x !== null && b[i] !== null ? [x - (b[i] as number)] : [])) : [];
  if (paired.length > 1 && paired.length === a.length) {
    const sorted = [...paired].sort((x, y) => x - y);
    return { addedCpuUs: sorted[Math.floor((sorted.length - 1) / 2)], addedCpuRangeUs: [sorted[0], sorted[sorted.length - 1]] };
  }
  return { addedCpuUs: t.cpuUsPerRequest !== null && n.cpuUsPerRequest !== null ? t.cpuUsPerRequest - n.cpuUsPerRequest : null, addedCpuRangeUs: null };
}

/** Each translated flow against the native flow with the same upstream and the one with the same client API. */
export function translationCosts(runs: FlowRun[]): TranslationCost[] {
  const out: TranslationCost[] = [];
  const tollgate = runs.filter((r) => r.target === 'tollgate');
  for (const t of tollgate) {
    const f = FLOWS[t.flow];
    if (isNative(f)) continue;
    for (const same of ['upstream', 'client'] as const) {
      const native = nativeFlowOf(f, same);
      const n = tollgate.find((r) => r.flow === native.name && r.mode === t.mode && r.connections === t.connections);
      if (!n) continue;
      out.push({
        flow: f.name,
        against: native.name,
        same,
        mode: t.mode,
        connections: t.connections,
        ...addedCpu(t, n),
        addedP50Us: Math.round(t.p50Us - n.p50Us),
        throughputRatio: n.rps > 0 ? Math.round((t.rps / n.rps) * 1000) / 1000 : 0,
      });
    }
  }
  return out;
}

const int = (n: number) => Math.round(n).toLocaleString('en');
const us = (n: number) => (Math.abs(n) >= 10_000 ? `${(n / 1000).toFixed(1)} ms` : `${int(n)} µs`);
const signedUs = (n: number | null) => (n === null ? '–' : `${n >= 0 ? '+' : ''}${us(n)}`);
const verdict = (pass: boolean | null) => (pass === null ? '' : pass ? 'PASS' : 'FAIL');

/** One row per translated flow and mode: its cost against both native flows, under load and at one connection. */
function translationRows(costs: TranslationCost[], loaded: number): string[] {
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const c of costs) {
    const id = `${c.flow}|${c.mode}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const at = (same: TranslationCost['same'], connections: number) => costs.find((x) => x.flow === c.flow && x.mode === c.mode && x.same === same && x.connections === connections);
    const cpu = (x: TranslationCost | undefined) =>
      x ? `${signedUs(x.addedCpuUs)}${x.addedCpuRangeUs ? ` (${x.addedCpuRangeUs.map((v) => signedUs(v)).join(' to ')})` : ''}` : '–';
    const p50 = (x: TranslationCost | undefined) => (x ? signedUs(x.addedP50Us) : '–');
    const tput = (x: TranslationCost | undefined) => (x ? `${x.throughputRatio.toFixed(2)}×` : '–');
    rows.push(
      `| ${c.flow} | ${c.mode} | ${cpu(at('upstream', loaded))} | ${cpu(at('client', loaded))} | ${p50(at('upstream', 1))} | ${p50(at('client', 1))} | ` +
        `${tput(at('upstream', loaded))} | ${tput(at('client', loaded))} |`,
    );
  }
  return rows;
}

/** The flows section as markdown. */
export function renderFlowsReport(r: FlowsReport, passThrough: FlowComparison[], costs: TranslationCost[]): string {
  const loaded = Math.max(...r.runs.map((x) => x.connections));
  const lines: string[] = [
    '## Flows: Anthropic and OpenAI, native and translated',
    '',
    `${r.cpus} CPUs, Node ${r.node}; wrk, ${r.rounds} interleaved round${r.rounds > 1 ? 's' : ''} per mode and connection count, ${r.durationS} s per run ` +
      `after a warm-up (${r.warmupS} s in the first round, 1 s after); each row is the median round. Flows: ${r.flows.join(', ')}. ` +
      'One fake upstream serves both APIs (chat completions and the Messages API, each with usage); the bare proxy forwards the native flows only. ' +
      `${int(r.answersChecked)} answers were checked before and after the load (status 200, the client API's shape, the text of the flow's upstream, usage), all right.`,
    '',
    `### Native pass-through against the bare proxy (targets: CPU/req ≤ ${TARGETS.maxCpuRatio}× and throughput ≥ ${TARGETS.minThroughputRatio.toFixed(2)}× at ${loaded} connections, added p50 ≤ ${TARGETS.maxAddedP50Us} µs at 1)`,
    '',
    '| Flow | Mode | Conns | CPU/req | Throughput | Added p50 | Added p99 | Verdict |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...passThrough.map(
      (c) =>
        `| ${c.flow} | ${c.mode} | ${c.connections} | ${c.cpuRatio === null ? '–' : `${c.cpuRatio.toFixed(2)}×`} ${verdict(c.cpuPass)} | ` +
        `${c.throughputRatio.toFixed(2)}× ${verdict(c.throughputPass)} | ${signedUs(c.addedP50Us)} ${verdict(c.latencyPass)} | ${signedUs(c.addedP99Us)} | ` +
        `${c.throughputPass === false || c.latencyPass === false || c.cpuPass === false ? 'FAIL' : 'PASS'} |`,
    ),
    '',
    "### Translation's cost per request: Tollgate's translated flow minus its native flows",
    '',
    `Against the native flow with the same upstream API (the upstream's work is the same) and with the same client API. CPU/req and throughput at ${loaded} connections, added p50 at 1. ` +
      'Added CPU/req is the median of the differences paired by round (each round runs both within seconds), the range of single rounds after it.',
    '',
    `| Flow | Mode | Added CPU/req at ${loaded}: same upstream | same client | Added p50 at 1: same upstream | same client | Throughput at ${loaded}: same upstream | same client |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...translationRows(costs, loaded),
    '',
    '### Every run',
    '',
    '| Flow | Target | Mode | Conns | req/s (median) | Rounds (req/s) | p50 | p99 | CPU/req | Other load | Errors |',
    '|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...r.runs.map(
      (x) =>
        `| ${x.flow} | ${x.target} | ${x.mode} | ${x.connections} | ${int(x.rps)} | ${x.roundsRps.map(int).join(', ')} | ${us(x.p50Us)} | ${us(x.p99Us)} | ` +
        `${x.cpuUsPerRequest === null ? '–' : us(x.cpuUsPerRequest)} | ${x.otherLoadPct === null ? '–' : `${x.otherLoadPct}%`} | ${x.errors} |`,
    ),
    '',
    '### The translation functions alone (src/core/translate, in-process)',
    '',
    'CPU µs per call (per event for streams), the fastest of 9 batches (other work on the machine only adds time); "with JSON" adds parsing the input and serialising the output, as a translated request does.',
    '',
    '| Translation | µs | with JSON |',
    '|---|---:|---:|',
    ...r.micro.map((m) => `| ${m.name} | ${m.us.toFixed(2)} | ${m.usWithJson.toFixed(2)} |`),
    '',
  ];
  if (r.usage) lines.push(`Metering: ${int(r.usage.eventsWritten)} usage events written for ${int(r.usage.requestsCompleted)} requests Tollgate completed.`, '');
  const busy = r.runs.filter((x) => (x.otherLoadPct ?? 0) > MAX_OTHER_LOAD * 100);
  const notes = [...r.notes];
  if (busy.length) notes.push(`${busy.length} of ${r.runs.length} runs shared the host with other work (> ${MAX_OTHER_LOAD * 100}% of the CPUs) even after a second attempt.`);
  if (notes.length) lines.push('### Notes', '', ...notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
