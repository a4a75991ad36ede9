import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHAT_BODIES, CHAT_PATH, type Mode } from './chat-load.js';
import {
  type Child,
  childEnv,
  cpuSeconds,
  freePort,
  killAllChildren,
  makeTempDir,
  otherLoadMeter,
  REPO_ROOT,
  removeTempDirs,
  residentMb,
  spawnChild,
  spawnNode,
  stopChild,
  waitForHttp,
  waitForOutput,
} from './processes.js';
import { buildTollgate, seedTollgate, type TollgateSetup, writeKeysFile } from './tollgate-fixture.js';
import { ensureWrk, runWrk, writeWrkScript } from './wrk.js';
import { profileServer, type StartServer } from './gateway-diagnostics.js';

// A quick A/B bench for iterating on the gateway's cost per request (minutes, not the half hour of `npm run bench`):
// the bare proxy, Tollgate built from the working tree (B) and, when QUICK_BASE names one, an earlier build (A),
// under the same wrk load in interleaved short rounds. It reports CPU per request, which a shared machine disturbs
// far less than throughput, as a ratio to the bare proxy's and B's to A's.
//
//   node --import tsx bench/quick.ts --snapshot   copies dist/ (built now) to .tmp/quick-base/dist: the A side
//   QUICK_BASE=.tmp/quick-base/dist node --import tsx bench/quick.ts
//
// QUICK_A_FLAGS / QUICK_B_FLAGS: Node flags for A's or B's process (e.g. "--max-semi-space-size=4"; A may then be
// the same build as B); QUICK_A_ENV / QUICK_B_ENV: environment variables for it ("MALLOC_ARENA_MAX=2"). QUICK_SECONDS (per run, default 4), QUICK_ROUNDS (default 3), QUICK_CONNS ("32" or "1,32"), QUICK_MODES
// ("non-stream", "stream" or both), QUICK_KEYS (keys in the database, default 1,000), QUICK_RSS=1 (each Tollgate
// serves every key, then its resident memory is read), QUICK_THREADS=each (CPU by thread: each of the threads
// started after V8's apart, in the order they started, instead of summed), QUICK_PROFILE=limited|plain (then B under --cpu-prof with that
// key: where its time goes, per request) or QUICK_PROFILE=bare (the bare proxy under --cpu-prof, to set beside it).

type KeyKind = 'plain' | 'limited';

interface Target {
  label: string;
  url: string;
  child: Child;
  keyKind: KeyKind;
  scripts: Record<Mode, string>;
}

interface Sample {
  rps: number;
  cpuUs: number;
  p50Us: number;
  other: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const env = process.env;
const num = (raw: string | undefined, fallback: number) => (raw ? Number(raw) : fallback);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const SNAPSHOT_DIR = join(REPO_ROOT, '.tmp', 'quick-base');

/** Copies the current build to .tmp/quick-base (inside the repository, so that its imports find node_modules). */
function snapshot(): void {
  buildTollgate();
  rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(SNAPSHOT_DIR, 'dist'), { recursive: true });
  // Files the build reads beside itself.
  symlinkSync(join(REPO_ROOT, 'assets'), join(SNAPSHOT_DIR, 'assets'));
  log(`snapshot of dist/ in ${join(SNAPSHOT_DIR, 'dist')}`);
}

async function startBuild(
  name: string,
  distDir: string,
  setup: TollgateSetup,
  dataDir: string,
  nodeFlags: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = spawnChild(name, process.execPath, [...nodeFlags, join(distDir, 'main.js')], childEnv({ ...setup.env, ...extraEnv, TOLLGATE_DATA_DIR: dataDir, PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/healthz`, 60_000);
  return { child, url };
}

/** CPU seconds of a process's threads: the main thread, and the others by name (comm), summed per name. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    // Node names every thread but libuv's "node": the main thread is the process's id, V8's platform threads (GC
    // helpers, 4) start right after it, and threads started later are worker_threads (the SQLite usage writer).
    const tids = readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
    for (const [i, tid] of tids.entries()) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const later = env.QUICK_THREADS === 'each' ? `thread ${i}` : 'later threads (workers)';
      const name = tid === pid ? 'main' : comm !== 'node' ? comm : i <= 4 ? 'V8 platform' : later;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    // not Linux, or the process is gone
  }
  return out;
}

/** Per-thread CPU µs per request over the run, for the last Tollgate measured (QUICK_THREADS=1). */
const threadShares = new Map<string, Map<string, number[]>>();

async function measure(t: Target, mode: Mode, connections: number, seconds: number): Promise<Sample> {
  const load = { url: t.url + CHAT_PATH, script: t.scripts[mode], connections };
  await runWrk({ ...load, durationS: 1 });
  const before = cpuSeconds(t.child.pid) ?? 0;
  const threadsBefore = threadCpu(t.child.pid);
  const other = otherLoadMeter();
  const r = await runWrk({ ...load, durationS: seconds });
  const after = cpuSeconds(t.child.pid) ?? 0;
  const shares = threadShares.get(t.label) ?? new Map<string, number[]>();
  threadShares.set(t.label, shares);
  for (const [name, sec] of threadCpu(t.child.pid)) {
    const list = shares.get(name) ?? [];
    list.push(((sec - (threadsBefore.get(name) ?? 0)) * 1e6) / Math.max(1, r.requests));
    shares.set(name, list);
  }
  const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
  if (errors > 0) log(`    ${t.label}: ${errors} errors`);
  return { rps: r.rps, cpuUs: ((after - before) * 1e6) / Math.max(1, r.requests), p50Us: r.p50Us, other: other() ?? 0 };
}

async function main(): Promise<void> {
  if (process.argv.includes('--snapshot')) return snapshot();
  const seconds = num(env.QUICK_SECONDS, 4);
  const rounds = num(env.QUICK_ROUNDS, 3);
  const conns = (env.QUICK_CONNS ?? '32').split(',').map(Number);
  const modes = (env.QUICK_MODES ?? 'non-stream').split(',') as Mode[];
  const keyCount = num(env.QUICK_KEYS, 1000);
  const base = env.QUICK_BASE;
  if (base && !existsSync(join(base, 'main.js'))) throw new Error(`QUICK_BASE=${base} has no main.js`);
  await ensureWrk(log);
  const dir = makeTempDir('tollgate-quick-');
  const children: Child[] = [];
  try {
    const upstream = spawnNode('fake-upstream', [], ['bench/fake-upstream.ts'], childEnv({}));
    children.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${(await waitForOutput(upstream, /LISTENING (\d+)/, 30_000))[1]}`;
    if (!env.QUICK_NO_BUILD) buildTollgate();
    const setup = await seedTollgate(dir, Number(new URL(upstreamUrl).port), keyCount, 1);
    const keysFile = writeKeysFile(dir, setup);
    const bare = spawnNode('bare-proxy', [], ['bench/bare-proxy.ts', upstreamUrl, keysFile], childEnv({}));
    children.push(bare);
    const bareUrl = `http://127.0.0.1:${(await waitForOutput(bare, /LISTENING (\d+)/, 30_000))[1]}`;
    const scripts = (name: string, key: string) => ({
      'non-stream': writeWrkScript(dir, `${name}-non-stream`, CHAT_BODIES['non-stream'], [key]),
      stream: writeWrkScript(dir, `${name}-stream`, CHAT_BODIES.stream, [key]),
    });
    const plain = scripts('plain', setup.singleKey);
    const limited = scripts('limited', setup.limitedKey);
    const targets: Target[] = [{ label: 'bare proxy', url: bareUrl, child: bare, keyKind: 'plain', scripts: plain }];
    const builds: Array<[string, string]> = base ? [['A', base], ['B', join(REPO_ROOT, 'dist')]] : [['B', join(REPO_ROOT, 'dist')]];
    const servers: Array<{ name: string; child: Child; url: string }> = [];
    for (const [name, distDir] of builds) {
      // Each build its own copy of the seeded database, so that their usage writes do not meet.
      const dataDir = join(dir, `data-${name}`);
      cpSync(setup.env.TOLLGATE_DATA_DIR, dataDir, { recursive: true });
      const flags = (name === 'A' ? env.QUICK_A_FLAGS : env.QUICK_B_FLAGS)?.split(' ').filter(Boolean) ?? [];
      const pairs = (name === 'A' ? env.QUICK_A_ENV : env.QUICK_B_ENV)?.split(' ').filter(Boolean) ?? [];
      const extraEnv = Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      const s = await startBuild(`tollgate-${name}`, distDir, setup, dataDir, flags, extraEnv);
      children.push(s.child);
      servers.push({ name, ...s });
      targets.push({ label: `${name} plain`, url: s.url, child: s.child, keyKind: 'plain', scripts: plain });
      targets.push({ label: `${name} limited`, url: s.url, child: s.child, keyKind: 'limited', scripts: limited });
    }
    const out: string[] = [];
    for (const mode of rounds > 0 ? modes : []) {
      for (const c of conns) {
        const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
        for (let round = 0; round < rounds; round++) {
          // Every other round runs the targets in reverse, so that neither build always follows the other.
          const order = round % 2 === 0 ? targets : [targets[0], ...targets.slice(1).reverse()];
          for (const t of order) {
            log(`  ${mode} c=${c} round ${round + 1}/${rounds} ${t.label}`);
            samples.get(t)?.push(await measure(t, mode, c, seconds));
          }
        }
        const med = (t: Target) => {
          const s = samples.get(t) ?? [];
          const cpu = s.map((x) => x.cpuUs);
          return { rps: median(s.map((x) => x.rps)), cpuUs: median(cpu), cpuMin: Math.min(...cpu), p50Us: median(s.map((x) => x.p50Us)), other: median(s.map((x) => x.other)) };
        };
        const bareM = med(targets[0]);
        out.push(`\n${mode}, ${c} connection${c > 1 ? 's' : ''}, ${rounds} rounds of ${seconds} s (medians)`);
        // The least CPU per request of the rounds is the one least disturbed by other work on the machine.
        out.push('| Target | req/s | CPU µs/req (median, least) | p50 µs | CPU/req vs bare (median, least) | req/s vs bare | p50 added | CPU/req B/A (median, least) | other load |');
        out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
        for (const t of targets) {
          const m = med(t);
          const peer = t.label.startsWith('B ') && base ? targets.find((x) => x.label === `A ${t.keyKind}`) : undefined;
          const ab = peer ? `${(m.cpuUs / med(peer).cpuUs).toFixed(2)}, ${(m.cpuMin / med(peer).cpuMin).toFixed(2)}` : '';
          out.push(
            `| ${t.label} | ${Math.round(m.rps)} | ${m.cpuUs.toFixed(0)}, ${m.cpuMin.toFixed(0)} | ${m.p50Us} | ${(m.cpuUs / bareM.cpuUs).toFixed(2)}×, ${(m.cpuMin / bareM.cpuMin).toFixed(2)}× | ${(m.rps / bareM.rps).toFixed(2)}× | ${m.p50Us - bareM.p50Us} | ${ab} | ${Math.round(m.other * 100)}% |`,
          );
        }
      }
    }
    for (const [label, shares] of threadShares) {
      const parts = [...shares].map(([name, us]) => [name, median(us)] as const).filter(([, us]) => us >= 0.5);
      out.push(`CPU µs/req by thread, ${label} (medians of every run): ${parts.map(([name, us]) => `${name} ${us.toFixed(1)}`).join(', ')}`);
    }
    if (env.QUICK_RSS) {
      const every = writeWrkScript(dir, 'every-key', CHAT_BODIES['non-stream'], setup.allKeys);
      for (const s of servers) {
        await runWrk({ url: s.url + CHAT_PATH, script: every, connections: 32, durationS: Math.max(3, Math.ceil(keyCount / 1500)) });
        const rss = residentMb(s.child.pid);
        out.push(`RSS of ${s.name} after every one of ${keyCount} keys: ${rss?.now} MB (peak ${rss?.peak} MB)`);
      }
      const bareRss = residentMb(bare.pid);
      out.push(`RSS of the bare proxy: ${bareRss?.now} MB (peak ${bareRss?.peak} MB)`);
    }
    const profiled = env.QUICK_PROFILE as KeyKind | 'bare' | undefined;
    if (profiled) {
      // B (on its own copy of the seeded database: two servers refuse to share a data dir), or the bare proxy, under
      // --cpu-prof at the largest connection count, in the first mode.
      const profiledData = join(dir, 'data-B-profiled');
      if (profiled !== 'bare') cpSync(setup.env.TOLLGATE_DATA_DIR, profiledData, { recursive: true });
      const start: StartServer =
        profiled === 'bare'
          ? async (flags) => {
              const child = spawnNode('bare-proxy-profiled', flags, ['bench/bare-proxy.ts', upstreamUrl, keysFile], childEnv({}));
              return { child, url: `http://127.0.0.1:${(await waitForOutput(child, /LISTENING (\d+)/, 30_000))[1]}` };
            }
          : async (flags) => startBuild('tollgate-B-profiled', join(REPO_ROOT, 'dist'), setup, profiledData, flags);
      const key = profiled === 'limited' ? setup.limitedKey : setup.singleKey;
      const keyKind = profiled === 'limited' ? 'limited' : 'plain';
      const connections = Math.max(...conns);
      const r = await profileServer(profiled === 'bare' ? 'bare-proxy' : 'tollgate', start, { dir, key, keyKind, mode: modes[0], connections, durationS: seconds * 2, warmupS: 2 });
      const perReq = (ms: number) => ((ms * 1000) / r.requestsInWindow).toFixed(1);
      const who = profiled === 'bare' ? 'the bare proxy' : `B, ${profiled} key,`;
      out.push(`\n${who} under --cpu-prof, ${modes[0]}, c=${connections}: ${r.rps} req/s, ${r.cpuUsPerRequest} CPU µs/req, idle ${Math.round((r.summary.idleMs / r.summary.windowMs) * 100)}%, ${r.file}`);
      out.push('| Component | µs/req |', '|---|---:|', ...r.summary.components.map((c) => `| ${c.name} | ${perReq(c.ms)} |`));
      out.push('| Self | µs/req |', '|---|---:|', ...r.summary.topSelf.slice(0, 30).map((c) => `| ${c.name} | ${perReq(c.ms)} |`));
      out.push('| Inclusive | µs/req |', '|---|---:|', ...r.summary.topInclusive.slice(0, 30).map((c) => `| ${c.name} | ${perReq(c.ms)} |`));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('SIGINT', () => {
    killAllChildren();
    removeTempDirs();
    process.exit(130);
  });
  try {
    await main();
  } finally {
    removeTempDirs();
  }
}
