import { cpus } from 'node:os';
import { MODES, type Mode } from './chat-load.js';
import { measure, medianRun, nodeServer, type RunRecord, type Target } from './gateway-bench.js';
import { type Flow, type FlowName, checkAnswer, flowsGatewayConfig, isNative } from './flows.js';
import { type Child, makeTempDir, freePort, stopChild } from './processes.js';
import { buildTollgate, countUsageEvents, seedTollgate, startTollgate, UPSTREAM_KEY_ENV, writeKeysFile } from './tollgate-fixture.js';
import { benchTranslation, type TranslationTiming } from './translate-bench.js';
import { ensureWrk, writeWrkScript } from './wrk.js';

// The flows bench (issue 20 §4): Anthropic's Messages API beside OpenAI's chat completions. Native pass-through
// (OpenAI client → OpenAI upstream, Anthropic client → Anthropic upstream), each against the bare proxy forwarding the
// same request, and the two translated flows (OpenAI client → Claude model on the anthropic provider, Anthropic
// client → OpenAI model), whose cost is their difference to the native flows. The fake upstream serves both APIs;
// every flow's answers are checked (status, shape, the upstream's own text, usage) on a sample before and after the
// load, and wrk counts any non-2xx answer during it. Then micro-benchmarks of the pure translation functions.

export interface FlowsOptions {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number[];
  flows: Flow[];
  /** Requests per flow, mode and target checked before and after the load. */
  samples: number;
  log: (line: string) => void;
}

export interface FlowRun extends RunRecord {
  flow: FlowName;
}

export interface FlowsReport {
  startedAt: string;
  node: string;
  cpus: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  flows: FlowName[];
  runs: FlowRun[];
  /** Answers checked (checkAnswer) before and after the load, every one of them right (a wrong one stops the bench). */
  answersChecked: number;
  usage: { eventsWritten: number; requestsCompleted: number } | null;
  micro: TranslationTiming[];
  notes: string[];
}

interface FlowTarget extends Target {
  flow: Flow;
}

/** The headers a client of the flow's API sends its key in. */
function keyHeaders(f: Flow, key: string): Record<string, string> {
  return f.shape.keyHeader === 'Authorization' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key, ...f.shape.headers };
}

/** Sends `n` of the flow's requests in `mode` one after another; throws on the first wrong answer. */
export async function sampleAnswers(url: string, key: string, f: Flow, mode: Mode, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(url + f.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...keyHeaders(f, key) },
      body: f.bodies[mode],
      signal: AbortSignal.timeout(10_000),
    });
    const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
    const problems = checkAnswer(f, mode, answer);
    if (problems.length) throw new Error(`${url} answered the ${f.name} flow's ${mode} request wrongly: ${problems.join('; ')}`);
  }
  return n;
}

const label = (t: FlowTarget) => `${t.flow.name} via ${t.name}`;

/** Runs the flows bench; every process it starts is stopped before it returns. */
export async function benchFlows(o: FlowsOptions): Promise<FlowsReport> {
  const startedAt = new Date().toISOString();
  await ensureWrk(o.log);
  const dir = makeTempDir('tollgate-flows-');
  const notes: string[] = [];
  const children: Child[] = [];
  try {
    const upstream = await nodeServer('fake-upstream', ['bench/fake-upstream.ts'])([]);
    children.push(upstream.child);
    o.log('building Tollgate (tsc)…');
    buildTollgate();
    const setup = await seedTollgate(dir, Number(new URL(upstream.url).port), 2, 1, flowsGatewayConfig(upstream.url, UPSTREAM_KEY_ENV));
    const bare = await nodeServer('bare-proxy', ['bench/bare-proxy.ts', upstream.url, writeKeysFile(dir, setup)])([]);
    children.push(bare.child);
    const tollgate = await startTollgate(setup, await freePort());
    children.push(tollgate.child);
    const key = setup.singleKey;

    const targets: FlowTarget[] = [];
    for (const f of o.flows) {
      const script = {
        'non-stream': writeWrkScript(dir, `${f.name}-non-stream`, f.bodies['non-stream'], [key], f.shape),
        stream: writeWrkScript(dir, `${f.name}-stream`, f.bodies.stream, [key], f.shape),
      };
      const common = { path: f.path, keys: 1, keyKind: 'plain' as const, key, script, flow: f };
      // The bare proxy forwards what it gets: only a flow whose client and upstream speak the same API goes through it.
      if (isNative(f)) targets.push({ ...common, name: 'bare-proxy', url: bare.url, child: bare.child });
      targets.push({ ...common, name: 'tollgate', url: tollgate.url, child: tollgate.child });
    }
    let answersChecked = 0;
    let tollgateRequests = 0;
    const checkAll = async () => {
      for (const t of targets) {
        for (const mode of MODES) {
          const n = await sampleAnswers(t.url, key, t.flow, mode, o.samples);
          answersChecked += n;
          if (t.name === 'tollgate') tollgateRequests += n;
        }
      }
    };
    o.log(`checking ${o.samples} answers per flow, mode and target…`);
    await checkAll();

    const runs: FlowRun[] = [];
    for (const mode of MODES) {
      for (const connections of o.connections) {
        const rounds = new Map<FlowTarget, RunRecord[]>(targets.map((t) => [t, []]));
        for (let round = 0; round < o.rounds; round++) {
          for (const t of targets) {
            o.log(`  ${mode.padEnd(10)} c=${String(connections).padEnd(3)} round ${round + 1}/${o.rounds} ${label(t)}`);
            const { served, run } = await measure(t, mode, connections, o, round === 0 ? o.warmupS : 1);
            rounds.get(t)?.push(run);
            if (t.name === 'tollgate') tollgateRequests += served;
            if (run.errors > 0) notes.push(`${label(t)} ${mode} c=${connections} round ${round + 1}: ${run.errors} errors (non-2xx, timeouts or socket errors)`);
          }
        }
        for (const t of targets) runs.push({ ...medianRun(rounds.get(t) ?? []), flow: t.flow.name });
      }
    }
    o.log('checking the answers again after the load…');
    await checkAll();
    await stopChild(tollgate.child);
    const usage = { eventsWritten: await countUsageEvents(setup), requestsCompleted: tollgateRequests };
    if (usage.eventsWritten < usage.requestsCompleted) notes.push(`Tollgate wrote ${usage.eventsWritten} usage events for ${usage.requestsCompleted} completed requests`);

    o.log('micro-benchmarks of the translation functions…');
    const micro = benchTranslation();
    return {
      startedAt,
      node: process.version,
      cpus: cpus().length,
      durationS: o.durationS,
      warmupS: o.warmupS,
      rounds: o.rounds,
      flows: o.flows.map((f) => f.name),
      runs,
      answersChecked,
      usage,
      micro,
      notes,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
  }
}
