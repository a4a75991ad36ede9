import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { CHAT_BODIES } from './chat-load.js';
import { comparableInstructions, instructionsByCategory, TIMING_DEPENDENT } from './instruction-count.js';
import { type Child, childEnv, freePort, makeTempDir, REPO_ROOT, spawnChild, spawnNode, stopChild, waitForHttp, waitForOutput } from './processes.js';
import { buildTollgate, seedTollgate, writeKeysFile } from './tollgate-fixture.js';

// Instructions per request, counted by valgrind's callgrind: a measure a busy machine does not move (the bare proxy
// counted 270 k and 274 k per request in two runs, while its CPU time per request moved ±20 % between wall-clock
// rounds), for telling a change of a few per cent apart from noise. Each target runs under valgrind with its
// instrumentation off until it has served INSTR_WARM requests (the JIT warmed up), then INSTR_WINDOWS windows of
// INSTR_N requests are counted, INSTR_C at a time, one key (INSTR_KEY: plain, limited or rotating), and the window
// with the fewest instructions is kept: a window that holds a full collection, or code deoptimised and run in the
// interpreter again, counted up to 30 % more. V8's compilers and GC are reported apart and left out of the
// comparison: how much of them falls into a window depends on timing, not on the requests.
//
//   node --import tsx bench/instructions.ts                       bare proxy and the working tree's build
//   INSTR_BASE=.tmp/quick-base/dist node --import tsx bench/instructions.ts   and an earlier build (bench/quick.ts --snapshot)
//
// Slow: valgrind runs a process ~50× slower (a few minutes for the defaults). Needs valgrind (on every machine kind here).

const env = process.env;
const log = (line: string) => process.stderr.write(`${line}\n`);
const N = Number(env.INSTR_N ?? 1000);
/** Windows of N requests counted one after the other; each target's least is kept (a window may hold a full GC). */
const WINDOWS = Number(env.INSTR_WINDOWS ?? 3);
const WARM = Number(env.INSTR_WARM ?? 4000);
const C = Number(env.INSTR_C ?? 8);
/**
 * Node flags for the builds' processes (INSTR_FLAGS, space-separated): `--perf-basic-prof` writes /tmp/perf-<pid>.map,
 * which names the JIT code callgrind lists only by address (INSTR_KEEP the dumps to read them against it).
 */
const NODE_FLAGS = (env.INSTR_FLAGS ?? '').split(' ').filter(Boolean);
// INSTR_CALLGRIND: more callgrind options (`--separate-callers=3` tells which JIT code calls a runtime function).
const VALGRIND = ['--tool=callgrind', '--instr-atstart=no', '--dump-instr=no', '--smc-check=all-non-file', '--error-limit=no', ...(env.INSTR_CALLGRIND ?? '').split(' ').filter(Boolean)];
// callgrind_control finds a process by names built from these (and Tollgate's own HOST, which it reads too).
const VG_ENV = { LOGNAME: 'root', HOST: '127.0.0.1' };

interface Target {
  name: string;
  child: Child;
  url: string;
  out: string;
}

async function fire(url: string, keys: readonly string[], n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: C });
  let sent = 0;
  let ok = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const key = keys[sent % keys.length];
      const r = request(`${url}/v1/chat/completions`, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          resolve();
        });
      });
      r.on('error', reject);
      r.end(CHAT_BODIES['non-stream']);
    });
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (sent < n) {
        sent++;
        await one();
      }
    }),
  );
  agent.destroy();
  if (ok !== n) throw new Error(`${url}: ${ok} of ${n} requests answered 200`);
}

const control = (args: string[]) => execFileSync('callgrind_control', args, { env: { ...process.env, ...VG_ENV }, stdio: 'pipe' });

async function main(): Promise<void> {
  const dir = makeTempDir('tollgate-instructions-');
  const children: Child[] = [];
  try {
    const upstream = spawnNode('fake-upstream', [], ['bench/fake-upstream.ts'], childEnv({}));
    children.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${(await waitForOutput(upstream, /LISTENING (\d+)/, 30_000))[1]}`;
    if (!env.INSTR_NO_BUILD) buildTollgate();
    const setup = await seedTollgate(dir, Number(new URL(upstreamUrl).port), 1000, 1);
    const keys = env.INSTR_KEY === 'limited' ? [setup.limitedKey] : env.INSTR_KEY === 'rotating' ? setup.rotatingKeys : [setup.singleKey];
    const targets: Target[] = [];
    const bareOut = join(dir, 'bare.callgrind');
    const bare = spawnChild('bare-proxy', 'valgrind', [...VALGRIND, `--callgrind-out-file=${bareOut}`, process.execPath, '--import', 'tsx', 'bench/bare-proxy.ts', upstreamUrl, writeKeysFile(dir, setup)], childEnv(VG_ENV));
    children.push(bare);
    targets.push({ name: 'bare proxy', child: bare, url: `http://127.0.0.1:${(await waitForOutput(bare, /LISTENING (\d+)/, 300_000))[1]}`, out: bareOut });
    const builds: Array<[string, string]> = env.INSTR_BASE ? [['A', env.INSTR_BASE], ['B', join(REPO_ROOT, 'dist')]] : [['B', join(REPO_ROOT, 'dist')]];
    for (const [name, dist] of builds) {
      if (!existsSync(join(dist, 'main.js'))) throw new Error(`${dist} has no main.js`);
      const dataDir = join(dir, `data-${name}`);
      cpSync(setup.env.TOLLGATE_DATA_DIR, dataDir, { recursive: true });
      const port = await freePort();
      const out = join(dir, `${name}.callgrind`);
      const child = spawnChild(`tollgate-${name}`, 'valgrind', [...VALGRIND, `--callgrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, join(dist, 'main.js')], childEnv({ ...setup.env, ...VG_ENV, TOLLGATE_DATA_DIR: dataDir, PORT: String(port) }));
      children.push(child);
      await waitForHttp(child, `http://127.0.0.1:${port}/healthz`, 600_000);
      targets.push({ name, child, url: `http://127.0.0.1:${port}`, out });
    }
    const rows: Array<{ name: string; comparable: number; byCategory: Map<string, number>; windows: number[] }> = [];
    for (const t of targets) {
      log(`  ${t.name}: ${WARM} requests to warm up, then ${WINDOWS} windows of ${N} counted`);
      await fire(t.url, keys, WARM);
      await new Promise((r) => setTimeout(r, 1000));
      // Each dump holds the counts since the one before (callgrind zeroes them when it dumps).
      for (let w = 0; w < WINDOWS; w++) {
        control(['-i', 'on', String(t.child.pid)]);
        await fire(t.url, keys, N);
        await new Promise((r) => setTimeout(r, 500));
        control(['-i', 'off', String(t.child.pid)]);
        control(['-d', String(t.child.pid)]);
      }
      await new Promise((r) => setTimeout(r, 1000));
      const base = `${t.out.split('/').pop()}.`;
      const dumps = readdirSync(dir).filter((f) => f.startsWith(base) && /^\d+$/.test(f.slice(base.length)));
      if (dumps.length < WINDOWS) throw new Error(`${t.name}: callgrind wrote ${dumps.length} of ${WINDOWS} dumps`);
      const windows = dumps.map((f) => instructionsByCategory(execFileSync('callgrind_annotate', ['--threshold=100', join(dir, f)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })).byCategory);
      const least = windows.reduce((best, w) => (comparableInstructions(w) < comparableInstructions(best) ? w : best));
      // INSTR_KEEP=dir: the least window's callgrind dump kept there (callgrind_annotate it for the functions).
      if (env.INSTR_KEEP) cpSync(join(dir, dumps[windows.indexOf(least)]), join(env.INSTR_KEEP, `callgrind-${t.name === 'bare proxy' ? 'bare' : t.name}.out`));
      rows.push({ name: t.name, comparable: comparableInstructions(least) / N, byCategory: least, windows: windows.map((w) => comparableInstructions(w) / N / 1000) });
    }
    const bareRow = rows[0];
    const a = rows.find((r) => r.name === 'A');
    const out = [
      `\nInstructions per request (thousands), the least of ${WINDOWS} windows of ${N} requests at ${C} at a time after ${WARM}, key: ${env.INSTR_KEY ?? 'plain'}; compared without V8's compilers and GC (${[...TIMING_DEPENDENT].join(', ')}, shown apart for that window)`,
      '| Target | k instructions/req (each window) | vs bare proxy | B/A | compile | gc | builtins | jit | sqlite | libc | node | v8 |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    const k = (r: (typeof rows)[number], c: string) => ((r.byCategory.get(c) ?? 0) / N / 1000).toFixed(1);
    for (const r of rows) {
      const vsA = a && r.name === 'B' ? (r.comparable / a.comparable).toFixed(3) : '';
      out.push(`| ${r.name} | ${(r.comparable / 1000).toFixed(1)} (${r.windows.map((w) => w.toFixed(0)).join(', ')}) | ${(r.comparable / bareRow.comparable).toFixed(3)}× | ${vsA} | ${['compile', 'gc', 'builtins', 'jit', 'sqlite', 'libc', 'node', 'v8'].map((c) => k(r, c)).join(' | ')} |`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
  }
}

await main();
process.exit(0);
