import { cpus } from 'node:os';
import { CHAT_BODIES, CHAT_PATH, MODES, type Mode } from './chat-load.js';
import { type ProfileReport, profileServer, type StartServer, type SyncIoReport, traceSyncIo } from './gateway-diagnostics.js';
import {
  type Child,
  childEnv,
  cpuSeconds,
  freePort,
  makeTempDir,
  otherLoadMeter,
  residentMb,
  spawnNode,
  stopChild,
  waitForOutput,
} from './processes.js';
import { buildTollgate, countUsageEvents, seedTollgate, startTollgate, writeKeysFile } from './tollgate-fixture.js';
import { ensureWrk, runWrk, writeWrkScript } from './wrk.js';

// The gateway bench: the same wrk load against the fake upstream itself, a bare node:http + undici proxy (the
// floor for any Node gateway), and Tollgate with 10,000 keys (one key without limits, 1,000 of them rotating, and
// one key with RPM, TPM and a spend limit), interleaved so that all see the same machine state. Then Tollgate's
// resident memory once it has served every key, CPU profiles of the bare proxy and Tollgate (where the time goes),
// and Tollgate under --trace-sync-io.

export type TargetName = 'upstream' | 'bare-proxy' | 'tollgate';

/** Which of Tollgate's keys a run uses: without limits, or with RPM, TPM and a spend limit (LIMITED_KEY_LIMITS). */
export type KeyKind = 'plain' | 'limited';

/** Resident memory (MB) now and at its peak, after Tollgate served every one of its keys. */
export interface RssReport {
  keys: number;
  /** Requests of the run over every key (at least `keys`, so that each was served). */
  requests: number;
  tollgate: { now: number; peak: number };
  bare: { now: number; peak: number };
}

export interface BenchOptions {
  durationS: number;
  warmupS: number;
  /** Interleaved rounds of every target per mode and connection count; each target's median round is reported. */
  rounds: number;
  keyCount: number;
  rotatingKeyCount: number;
  connections: number[];
  log: (line: string) => void;
}

export interface RunRecord {
  target: TargetName;
  mode: Mode;
  connections: number;
  /** How many distinct keys the load rotates over. */
  keys: number;
  /** The kind of key (Tollgate's runs; 'plain' for the others). */
  keyKind: KeyKind;
  requests: number;
  rps: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  errors: number;
  /** CPU time (user + system, all threads) the target process spent per request, in µs. */
  cpuUsPerRequest: number | null;
  /** Share of the machine's CPUs used by processes the bench did not start (other work on the host) during the run. */
  otherLoadPct: number | null;
  /** req/s of every round, in order (the record itself is the median round). */
  roundsRps: number[];
  /** CPU µs per request of every round, in order (for differences paired by round). */
  roundsCpuUs?: Array<number | null>;
}

export interface GatewayReport {
  startedAt: string;
  node: string;
  cpus: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  keyCount: number;
  seedSeconds: number;
  runs: RunRecord[];
  usage: { eventsWritten: number; requestsCompleted: number } | null;
  rss: RssReport | null;
  profiles: ProfileReport[];
  syncIo: SyncIoReport | null;
  notes: string[];
}

export interface Target {
  name: TargetName;
  url: string;
  /** The path the load POSTs to (CHAT_PATH unless said). */
  path?: string;
  child: Child;
  keys: number;
  keyKind: KeyKind;
  /** The key checked before the load (the first of the script's). */
  key: string;
  script: Record<Mode, string>;
}

/** One request per target and mode before any load: a wrong answer would make the numbers meaningless. */
async function checkTarget(url: string, key: string, mode: Mode): Promise<void> {
  const res = await fetch(url + CHAT_PATH, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: CHAT_BODIES[mode],
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const ok = res.status === 200 && (mode === 'stream' ? text.trimEnd().endsWith('data: [DONE]') : text.includes('"chat.completion"'));
  if (!ok) throw new Error(`${url} answered ${res.status} to a ${mode} request: ${text.slice(0, 300)}`);
}

/** Other processes using more than this share of the CPUs during a run make it run again (once). */
export const MAX_OTHER_LOAD = 0.15;

/** One measured run of `t` (a warm-up first; run again once when other processes were busy), and every request it served. */
export async function measure(
  t: Target,
  mode: Mode,
  connections: number,
  o: Pick<BenchOptions, 'durationS' | 'log'>,
  warmupS: number,
): Promise<{ served: number; run: RunRecord }> {
  const load = { url: t.url + (t.path ?? CHAT_PATH), script: t.script[mode], connections };
  let best: RunRecord | null = null;
  /** Every request the target answered, warm-ups and discarded attempts included (they are metered too). */
  let served = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    served += (await runWrk({ ...load, durationS: warmupS })).requests;
    const cpuBefore = cpuSeconds(t.child.pid);
    const otherLoad = otherLoadMeter();
    const r = await runWrk({ ...load, durationS: o.durationS });
    const other = otherLoad();
    served += r.requests;
    const cpuAfter = cpuSeconds(t.child.pid);
    const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
    const cpu = cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / r.requests : null;
    const run: RunRecord = {
      target: t.name,
      mode,
      connections,
      keys: t.keys,
      keyKind: t.keyKind,
      requests: r.requests,
      rps: Math.round(r.rps),
      p50Us: r.p50Us,
      p90Us: r.p90Us,
      p99Us: r.p99Us,
      maxUs: r.maxUs,
      errors,
      cpuUsPerRequest: cpu === null ? null : Math.round(cpu),
      otherLoadPct: other === null ? null : Math.round(other * 100),
      roundsRps: [],
    };
    if (!best || (run.otherLoadPct ?? 0) < (best.otherLoadPct ?? 0)) best = run;
    if (other === null || other <= MAX_OTHER_LOAD || attempt > 0) break;
    o.log(`    other processes used ${Math.round(other * 100)}% of the CPUs during that run; running it again`);
  }
  return { served, run: best as RunRecord };
}

/** The round with the median req/s (the lower middle one for an even count), carrying every round's req/s. */
export function medianRun(rounds: RunRecord[]): RunRecord {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], roundsRps: rounds.map((r) => r.rps), roundsCpuUs: rounds.map((r) => r.cpuUsPerRequest) };
}

/** Starts bench/<file> (which prints `LISTENING <port>`) under node --import tsx. */
export function nodeServer(name: string, args: string[]): StartServer {
  return async (nodeFlags) => {
    const child = spawnNode(name, nodeFlags, args, childEnv({}));
    const m = await waitForOutput(child, /LISTENING (\d+)/, 30_000);
    return { child, url: `http://127.0.0.1:${m[1]}` };
  };
}

/** Runs the whole gateway bench; every process it starts is stopped before it returns. */
export async function benchGateway(o: BenchOptions): Promise<GatewayReport> {
  const startedAt = new Date().toISOString();
  await ensureWrk(o.log);
  const dir = makeTempDir('tollgate-bench-');
  const notes: string[] = [];
  const idleLoad = otherLoadMeter();
  await new Promise((r) => setTimeout(r, 2000));
  const before = idleLoad();
  if (before !== null && before > MAX_OTHER_LOAD) {
    o.log(`warning: other processes use ${Math.round(before * 100)}% of the CPUs; the numbers will be noisy`);
    notes.push(`Before the bench, other processes used ${Math.round(before * 100)}% of the CPUs.`);
  }
  const children: Child[] = [];
  try {
    const upstream = await nodeServer('fake-upstream', ['bench/fake-upstream.ts'])([]);
    children.push(upstream.child);
    o.log('building Tollgate (tsc)…');
    buildTollgate();
    o.log(`seeding Tollgate's database with ${o.keyCount.toLocaleString('en')} keys…`);
    const setup = await seedTollgate(dir, Number(new URL(upstream.url).port), o.keyCount, o.rotatingKeyCount);
    o.log(`  done in ${setup.seedSeconds.toFixed(1)} s`);
    // The bare proxy checks the same keys (SHA-256 and a Map), as the least a key gateway does.
    const startBare = nodeServer('bare-proxy', ['bench/bare-proxy.ts', upstream.url, writeKeysFile(dir, setup)]);
    const bare = await startBare([]);
    children.push(bare.child);
    const startTollgateOn: StartServer = async (flags) => startTollgate(setup, await freePort(), flags);
    const tollgate = await startTollgateOn([]);
    children.push(tollgate.child);

    const scripts = (name: string, keys: string[]) => ({
      'non-stream': writeWrkScript(dir, `${name}-non-stream`, CHAT_BODIES['non-stream'], keys),
      stream: writeWrkScript(dir, `${name}-stream`, CHAT_BODIES.stream, keys),
    });
    const one = scripts('one-key', [setup.singleKey]);
    const key = setup.singleKey;
    const targets: Target[] = [
      { name: 'upstream', url: upstream.url, child: upstream.child, keys: 1, keyKind: 'plain', key, script: one },
      { name: 'bare-proxy', url: bare.url, child: bare.child, keys: 1, keyKind: 'plain', key, script: one },
      { name: 'tollgate', url: tollgate.url, child: tollgate.child, keys: 1, keyKind: 'plain', key, script: one },
      { name: 'tollgate', url: tollgate.url, child: tollgate.child, keys: setup.rotatingKeys.length, keyKind: 'plain', key, script: scripts('many-keys', setup.rotatingKeys) },
      { name: 'tollgate', url: tollgate.url, child: tollgate.child, keys: 1, keyKind: 'limited', key: setup.limitedKey, script: scripts('limited-key', [setup.limitedKey]) },
    ];
    let tollgateRequests = 0;
    for (const t of targets) {
      for (const mode of MODES) await checkTarget(t.url, t.key, mode);
      if (t.name === 'tollgate') tollgateRequests += MODES.length;
    }

    // Rounds interleave the targets (upstream, bare proxy, Tollgate, …, then again), so that a slow spell of this shared
    // machine hits all of them; each target's median round is reported, and the ratios come from the medians.
    const runs: RunRecord[] = [];
    for (const mode of MODES) {
      for (const connections of o.connections) {
        const rounds = new Map<Target, RunRecord[]>(targets.map((t) => [t, []]));
        for (let round = 0; round < o.rounds; round++) {
          for (const t of targets) {
            const label = t.name === 'tollgate' ? `tollgate (${t.keyKind === 'limited' ? 'limited key' : `${t.keys} key${t.keys > 1 ? 's' : ''}`})` : t.name;
            o.log(`  ${mode.padEnd(10)} c=${String(connections).padEnd(3)} round ${round + 1}/${o.rounds} ${label}`);
            const { served, run } = await measure(t, mode, connections, o, round === 0 ? o.warmupS : 1);
            rounds.get(t)?.push(run);
            if (t.name === 'tollgate') tollgateRequests += served;
            if (run.errors > 0) notes.push(`${label} ${mode} c=${connections} round ${round + 1}: ${run.errors} errors (non-2xx, timeouts or socket errors)`);
          }
        }
        for (const t of targets) runs.push(medianRun(rounds.get(t) ?? []));
      }
    }

    // Resident memory once Tollgate holds every key (each one served at least once), against the bare proxy's after
    // the same rounds; both peaks (VmHWM) include the load.
    o.log(`  every key once (${setup.allKeys.length.toLocaleString('en')} keys, c=${Math.max(...o.connections)}), then resident memory…`);
    const everyKey = writeWrkScript(dir, 'every-key', CHAT_BODIES['non-stream'], setup.allKeys);
    let rss: RssReport | null = null;
    let everyKeyRequests = 0;
    for (let s = 3; s <= 24 && everyKeyRequests < setup.allKeys.length; s *= 2) {
      everyKeyRequests = (await runWrk({ url: tollgate.url + CHAT_PATH, script: everyKey, connections: Math.max(...o.connections), durationS: s })).requests;
      tollgateRequests += everyKeyRequests;
    }
    const tollRss = residentMb(tollgate.child.pid);
    const bareRss = residentMb(bare.child.pid);
    if (tollRss && bareRss && everyKeyRequests >= setup.allKeys.length) {
      rss = { keys: setup.allKeys.length, requests: everyKeyRequests, tollgate: tollRss, bare: bareRss };
    } else notes.push(`Resident memory not measured (${everyKeyRequests} requests over ${setup.allKeys.length} keys, /proc ${tollRss ? 'read' : 'unreadable'}).`);

    const busy = runs.filter((r) => (r.otherLoadPct ?? 0) > MAX_OTHER_LOAD * 100);
    if (busy.length) {
      notes.push(
        `${busy.length} of ${runs.length} runs shared the host with other work (> ${MAX_OTHER_LOAD * 100}% of the CPUs) even after a second attempt: ` +
          'their numbers, and the ratios built on them, are less reliable.',
      );
    }
    await stopChild(tollgate.child);
    await stopChild(bare.child);
    const usage = { eventsWritten: await countUsageEvents(setup), requestsCompleted: tollgateRequests };
    if (usage.eventsWritten < usage.requestsCompleted) notes.push(`Tollgate wrote ${usage.eventsWritten} usage events for ${usage.requestsCompleted} completed requests`);

    const profiles: ProfileReport[] = [];
    const connections = Math.max(...o.connections);
    for (const mode of MODES) {
      const kinds = [
        ['bare-proxy', startBare, 'plain', setup.singleKey],
        ['tollgate', startTollgateOn, 'plain', setup.singleKey],
        ['tollgate', startTollgateOn, 'limited', setup.limitedKey],
      ] as const;
      for (const [target, start, keyKind, key] of kinds) {
        o.log(`profiling ${target}${target === 'tollgate' ? ` (${keyKind} key)` : ''} (--cpu-prof), ${mode}, c=${connections}…`);
        try {
          profiles.push(await profileServer(target, start, { dir, key, keyKind, mode, connections, durationS: o.durationS, warmupS: o.warmupS }));
        } catch (err) {
          notes.push(`CPU profile of ${target} (${keyKind} key, ${mode}) failed: ${(err as Error).message}`);
        }
      }
    }
    o.log('tracing synchronous I/O in Tollgate (--trace-sync-io)…');
    let syncIo: SyncIoReport | null = null;
    try {
      syncIo = await traceSyncIo(startTollgateOn, { dir, key: setup.singleKey, rotatingKeys: setup.rotatingKeys, connections, durationS: Math.min(3, o.durationS) });
    } catch (err) {
      notes.push(`sync-I/O trace failed: ${(err as Error).message}`);
    }
    return {
      startedAt,
      node: process.version,
      cpus: cpus().length,
      durationS: o.durationS,
      warmupS: o.warmupS,
      rounds: o.rounds,
      keyCount: o.keyCount,
      seedSeconds: Math.round(setup.seedSeconds * 10) / 10,
      runs,
      usage,
      rss,
      profiles,
      syncIo,
      notes,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
  }
}
