import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAT_BODIES, CHAT_PATH, type Mode } from './chat-load.js';
import type { KeyKind } from './gateway-bench.js';
import { type CpuProfile, type ProfileSummary, summarizeProfile } from './cpu-profile.js';
import { type Child, cpuSeconds, makeTempDir, otherLoadMeter, stopChild } from './processes.js';
import { parseSyncIoWarnings, type SyncIoSite } from './sync-io.js';
import { runWrk, writeWrkScript } from './wrk.js';

// The "why" behind the gateway numbers: CPU profiles of the bare proxy and of Tollgate under the same load
// (so Tollgate's cost per request can be set against the floor's, component by component), and a
// --trace-sync-io run that counts synchronous I/O calls on Tollgate's request path.

/** Where the .cpuprofile files are kept for Chrome DevTools (ignored by git: they are megabytes). */
const PROFILE_DIR = fileURLToPath(new URL('./results/profiles/', import.meta.url));

export type StartServer = (nodeFlags: string[]) => Promise<{ child: Child; url: string }>;

export interface ProfileReport {
  target: 'bare-proxy' | 'tollgate';
  keyKind: KeyKind;
  mode: Mode;
  connections: number;
  /** Throughput under the profiler (a little below the unprofiled runs). */
  rps: number;
  /** Requests served inside the profile window (throughput × window), to turn ms into µs per request. */
  requestsInWindow: number;
  /** CPU time of the process (all threads, from /proc) per request during the measured load; the profile is wall time. */
  cpuUsPerRequest: number | null;
  /** Share of the CPUs used by other processes on the host during the measured load. */
  otherLoadPct: number | null;
  summary: ProfileSummary;
  file: string;
}

export interface SyncIoReport {
  startup: number;
  firstRequests: number;
  underLoad: number;
  shutdown: number;
  underLoadSites: SyncIoSite[];
  firstRequestSites: SyncIoSite[];
}

function busySamples(p: CpuProfile): number {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  return p.samples.filter((id) => !idle.has(id)).length;
}

/** Runs one server under --cpu-prof through a warm-up and a measured load, and summarises the measured part. */
export async function profileServer(
  target: ProfileReport['target'],
  start: StartServer,
  o: { dir: string; key: string; keyKind: KeyKind; mode: Mode; connections: number; durationS: number; warmupS: number },
): Promise<ProfileReport> {
  const profDir = makeTempDir('tollgate-bench-prof-');
  const { child, url } = await start(['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=250']);
  let loadStart = 0;
  let loadEnd = 0;
  let rps = 0;
  let cpuUsPerRequest: number | null = null;
  let other: number | null = null;
  try {
    const script = writeWrkScript(o.dir, `profile-${target}-${o.keyKind}-${o.mode}`, CHAT_BODIES[o.mode], [o.key]);
    const load = { url: url + CHAT_PATH, script, connections: o.connections };
    await runWrk({ ...load, durationS: o.warmupS });
    const cpuBefore = cpuSeconds(child.pid);
    const otherLoad = otherLoadMeter();
    loadStart = performance.now();
    const r = await runWrk({ ...load, durationS: o.durationS });
    loadEnd = performance.now();
    other = otherLoad();
    const cpuAfter = cpuSeconds(child.pid);
    rps = r.rps;
    if (cpuBefore !== null && cpuAfter !== null && r.requests > 0) cpuUsPerRequest = Math.round(((cpuAfter - cpuBefore) * 1e6) / r.requests);
  } finally {
    await stopChild(child);
  }
  const exitedAt = performance.now();
  // Every thread writes a profile (the tsx loader thread too, idle under load): keep the busiest.
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  const profiles = files
    .map((f) => ({ f, p: JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile }))
    .sort((a, b) => busySamples(b.p) - busySamples(a.p));
  const best = profiles[0];
  if (!best) throw new Error(`${target} wrote no .cpuprofile (stderr: ${child.stderr().slice(-500)})`);
  // The profile ends when the process exits: place the load window back from there, trimming 0.3 s each side.
  const totalUs = best.p.endTime - best.p.startTime;
  const window = { fromUs: totalUs - (exitedAt - loadStart) * 1000 + 300_000, toUs: totalUs - (exitedAt - loadEnd) * 1000 - 300_000 };
  const summary = summarizeProfile(best.p, window);
  mkdirSync(PROFILE_DIR, { recursive: true });
  const file = join(PROFILE_DIR, `${target}${target === 'tollgate' && o.keyKind === 'limited' ? '-limited' : ''}-${o.mode}-c${o.connections}.cpuprofile`);
  copyFileSync(join(profDir, best.f), file);
  return {
    target,
    keyKind: o.keyKind,
    mode: o.mode,
    connections: o.connections,
    rps: Math.round(rps),
    requestsInWindow: Math.round((rps * summary.windowMs) / 1000),
    cpuUsPerRequest,
    otherLoadPct: other === null ? null : Math.round(other * 100),
    summary,
    file: file.slice(fileURLToPath(new URL('..', import.meta.url)).length),
  };
}

/**
 * Runs Tollgate under --trace-sync-io: a few requests with one key (lazy initialisation), then both modes at full
 * load with keys it has not seen (cache misses reach the database), and counts the warnings in each phase.
 */
export async function traceSyncIo(
  start: StartServer,
  o: { dir: string; key: string; rotatingKeys: string[]; connections: number; durationS: number },
): Promise<SyncIoReport> {
  const { child, url } = await start(['--trace-sync-io', '--stack-trace-limit=40']);
  const marks: number[] = [];
  try {
    marks.push(child.stderr().length);
    const first = writeWrkScript(o.dir, 'sync-io-first', CHAT_BODIES['non-stream'], [o.key]);
    await runWrk({ url: url + CHAT_PATH, script: first, connections: 1, durationS: 1 });
    marks.push(child.stderr().length);
    for (const mode of ['non-stream', 'stream'] as const) {
      const script = writeWrkScript(o.dir, `sync-io-${mode}`, CHAT_BODIES[mode], o.rotatingKeys);
      await runWrk({ url: url + CHAT_PATH, script, connections: o.connections, durationS: o.durationS });
    }
    marks.push(child.stderr().length);
  } finally {
    await stopChild(child);
  }
  const stderr = child.stderr();
  const firstRequests = parseSyncIoWarnings(stderr.slice(marks[0], marks[1]));
  const underLoad = parseSyncIoWarnings(stderr.slice(marks[1], marks[2]));
  return {
    startup: parseSyncIoWarnings(stderr.slice(0, marks[0])).total,
    firstRequests: firstRequests.total,
    underLoad: underLoad.total,
    shutdown: parseSyncIoWarnings(stderr.slice(marks[2])).total,
    underLoadSites: underLoad.sites.slice(0, 8),
    firstRequestSites: firstRequests.sites.slice(0, 8),
  };
}
