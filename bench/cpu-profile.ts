import { REPO_ROOT } from './processes.js';

// Reads a V8 .cpuprofile (as written by `node --cpu-prof`) and says where the time went: self time by function,
// by component (undici, Fastify, JSON, sha256, Tollgate's own code, GC, idle, …), and inclusive time of
// Tollgate's functions. Each sample is charged the interval until the next sample, as Chrome DevTools does.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  pct: number;
}

/** Uninterrupted stretches of main-thread time spent under one package's frames (the event loop waits meanwhile). */
export interface Stalls {
  packages: string[];
  longestMs: number;
  over10ms: number;
  over50ms: number;
  totalMs: number;
}

export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  idleMs: number;
  components: ProfileShare[];
  topSelf: ProfileShare[];
  topInclusive: ProfileShare[];
  /** Time in the database driver (Kysely + better-sqlite3), which runs synchronously on the event loop. */
  databaseStalls: Stalls;
}

const DATABASE_PACKAGES = ['kysely', 'better-sqlite3'];

const JSON_NATIVES = new Set(['parse', 'stringify']);
const CRYPTO_NATIVES = new Set(['digest', 'update', 'Hash', 'createHash']);

/** The package a node_modules URL belongs to (`undici`, `@fastify/cookie`). */
function packageOf(url: string): string | null {
  const i = url.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const parts = url.slice(i + '/node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The component a function with a URL belongs to; null for native frames (no URL), charged to their caller. */
function componentOfUrl(frame: CallFrame): string | null {
  const { functionName: name, url } = frame;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native, unattributed (program)';
  if (name === '(root)') return 'other';
  if (!url) {
    if (JSON_NATIVES.has(name)) return 'JSON parse/stringify';
    if (CRYPTO_NATIVES.has(name)) return 'crypto (sha256)';
    return null;
  }
  const pkg = packageOf(url);
  if (pkg === 'undici') return 'undici (upstream client)';
  if (pkg === 'fastify' || pkg === 'find-my-way' || pkg === 'avvio' || pkg === 'light-my-request' || pkg?.startsWith('@fastify/') || pkg === 'fast-json-stringify') return 'Fastify';
  if (pkg === 'secure-json-parse') return 'JSON parse/stringify';
  if (pkg === 'pino' || pkg === 'sonic-boom' || pkg === 'thread-stream') return 'pino (logging)';
  if (pkg === 'kysely' || pkg === 'better-sqlite3') return 'Kysely + SQLite';
  if (pkg === 'tsx' || pkg === 'esbuild' || pkg === 'get-tsconfig') return 'tsx loader';
  if (pkg) return `other package: ${pkg}`;
  if (url.startsWith('wasm://')) return 'undici (upstream client)'; // undici's llhttp parser is WebAssembly
  // Tollgate runs from its build (dist/ mirrors src/) in the bench, from src/ under tsx elsewhere.
  const src = /\/(?:src|dist)\/([^/]+)\//.exec(url);
  if (src) return `Tollgate src/${src[1]}`;
  if (/\/(?:src|dist)\//.test(url)) return 'Tollgate src/ (top level)';
  if (url.startsWith('node:internal/crypto')) return 'crypto (sha256)';
  if (url.startsWith('node:internal/abort_controller') || url.startsWith('node:internal/event_target')) return 'Node AbortController/EventTarget';
  if (url.startsWith('node:internal/timers') || url === 'node:timers') return 'Node timers';
  if (url.startsWith('node:internal/modules')) return 'Node module loading';
  if (url.startsWith('node:')) return 'Node core (http, net, streams, events)';
  return 'other';
}

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(REPO_ROOT)) u = u.slice(REPO_ROOT.length);
  const nm = u.lastIndexOf('node_modules/');
  return nm >= 0 ? u.slice(nm + 'node_modules/'.length) : u;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return `${name} (native)`;
  // tsx emits each module on one line: a line number there says nothing.
  return frame.lineNumber > 0 ? `${name} (${shortUrl(frame.url)}:${frame.lineNumber + 1})` : `${name} (${shortUrl(frame.url)})`;
}

function toShares(totals: Map<string, number>, busyMs: number, limit: number): ProfileShare[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: busyMs > 0 ? Math.round((ms / busyMs) * 1000) / 10 : 0 }));
}

/** Summarises the samples whose time (µs since the profile's start) falls within [fromUs, toUs]. */
export function summarizeProfile(profile: CpuProfile, window: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const componentCache = new Map<number, string>();
  const componentOf = (id: number): string => {
    const cached = componentCache.get(id);
    if (cached) return cached;
    let cur: number | undefined = id;
    let found: string | null = null;
    while (cur !== undefined && found === null) {
      found = componentOfUrl((byId.get(cur) as ProfileNode).callFrame);
      cur = parent.get(cur);
    }
    const result = found ?? 'other';
    componentCache.set(id, result);
    return result;
  };

  const self = new Map<string, number>();
  const components = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  let t = 0;
  const inDatabase = new Map<number, boolean>();
  const isInDatabase = (id: number): boolean => {
    const known = inDatabase.get(id);
    if (known !== undefined) return known;
    let found = false;
    for (let cur: number | undefined = id; cur !== undefined && !found; cur = parent.get(cur)) {
      const pkg = packageOf((byId.get(cur) as ProfileNode).callFrame.url);
      found = pkg !== null && DATABASE_PACKAGES.includes(pkg);
    }
    inDatabase.set(id, found);
    return found;
  };
  const stalls: Stalls = { packages: DATABASE_PACKAGES, longestMs: 0, over10ms: 0, over50ms: 0, totalMs: 0 };
  let stretch = 0;
  const endStretch = () => {
    if (stretch >= 10) stalls.over10ms++;
    if (stretch >= 50) stalls.over50ms++;
    stalls.longestMs = Math.max(stalls.longestMs, stretch);
    stretch = 0;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < window.fromUs || t > window.toUs) continue;
    const next = profile.timeDeltas[i + 1];
    const ms = (next !== undefined && next > 0 ? next : 0) / 1000;
    const id = profile.samples[i];
    const node = byId.get(id) as ProfileNode;
    totalMs += ms;
    if (isInDatabase(id)) {
      stretch += ms;
      stalls.totalMs += ms;
    } else if (stretch > 0) endStretch();
    const component = componentOf(id);
    if (component === 'idle') {
      idleMs += ms;
      continue;
    }
    components.set(component, (components.get(component) ?? 0) + ms);
    const l = label(node.callFrame);
    self.set(l, (self.get(l) ?? 0) + ms);
    // Inclusive time of Tollgate's own functions, each counted once per sample even when recursive.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = (byId.get(cur) as ProfileNode).callFrame;
      if (!/\/(?:src|dist)\//.test(f.url) || f.url.includes('/node_modules/')) continue;
      const fl = label(f);
      if (seen.has(fl)) continue;
      seen.add(fl);
      inclusive.set(fl, (inclusive.get(fl) ?? 0) + ms);
    }
  }
  endStretch();
  const busyMs = totalMs - idleMs;
  return {
    windowMs: Math.round(totalMs),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    components: toShares(components, busyMs, 30),
    topSelf: toShares(self, busyMs, 15),
    topInclusive: toShares(inclusive, busyMs, 15),
    databaseStalls: { ...stalls, longestMs: Math.round(stalls.longestMs * 10) / 10, totalMs: Math.round(stalls.totalMs) },
  };
}
