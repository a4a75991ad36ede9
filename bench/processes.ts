import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Every process and temp dir the bench starts is tracked here, so that a normal end, an error or Ctrl-C stops
// them all (children killed by pid, never by name).

/** The repository root (children run from there so `--import tsx` resolves). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const MAX_CAPTURE = 4 * 1024 * 1024;

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the child wrote to stdout / stderr so far (capped). */
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const live = new Set<Child>();
const tempDirs = new Set<string>();

/** Starts a tracked child process; its output is captured, never inherited. */
export function spawnChild(name: string, command: string, args: string[], env: Record<string, string>): Child {
  const proc = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
    if (out.length < MAX_CAPTURE) out += s;
  });
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < MAX_CAPTURE) err += s;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const child: Child = { name, proc, pid: proc.pid, stdout: () => out, stderr: () => err, exited };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** Starts `node --import tsx <args>` with the given node flags. */
export function spawnNode(name: string, nodeFlags: string[], args: string[], env: Record<string, string>): Child {
  return spawnChild(name, process.execPath, [...nodeFlags, '--import', 'tsx', ...args], env);
}

/** A small environment for children: no provider keys or database URLs leak in from the caller's shell. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NODE_ENV: 'production' };
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Resolves with the first stdout match of `pattern`; rejects if the child exits or the time runs out. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(child.stdout());
      if (m) {
        done();
        resolve(m);
      }
    };
    const onExit = () => {
      done();
      reject(new Error(`${child.name} exited before it was ready:\n${child.stderr().slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.stderr().slice(-2000)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', check);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout?.on('data', check);
    child.proc.once('exit', onExit);
    check();
  });
}

/** Polls `url` until it answers 200; rejects if the child exits or the time runs out. */
export async function waitForHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before it was ready:\n${child.stderr().slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.stderr().slice(-2000)}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: Child, graceMs = 20_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Kills every tracked child at once (for exits and signals: synchronous, by pid). */
export function killAllChildren(): void {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A tracked temp dir, removed by removeTempDirs. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes every tracked temp dir (synchronous, so it can run in an exit handler). */
export function removeTempDirs(): void {
  for (const d of tempDirs) {
    rmSync(d, { recursive: true, force: true });
    tempDirs.delete(d);
  }
}

/** A free TCP port on 127.0.0.1 (for Tollgate, whose port is fixed by its config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system, all threads) a process has used so far; null off Linux. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime), counted from `state` (field 3); in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, from /proc/stat); null off Linux. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu  user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of the bench itself, its finished children (each wrk run) and every live tracked child. */
export function ownCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14–17 of proc(5); children count once waited for.
    let total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    for (const c of live) total += cpuSeconds(c.pid) ?? 0;
    return total;
  } catch {
    return null;
  }
}

/**
 * Starts measuring the CPU used by processes the bench did not start (other work on the host); the returned
 * function gives their share of the machine's capacity since then (0–1), or null off Linux.
 */
export function otherLoadMeter(): () => number | null {
  const at = performance.now();
  const machine = machineBusySeconds();
  const own = ownCpuSeconds();
  return () => {
    const machineNow = machineBusySeconds();
    const ownNow = ownCpuSeconds();
    if (machine === null || own === null || machineNow === null || ownNow === null) return null;
    const capacity = ((performance.now() - at) / 1000) * cpus().length;
    return Math.max(0, (machineNow - machine - (ownNow - own)) / capacity);
  };
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), in MB; null off Linux. */
export function residentMb(pid: number): { now: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const now = kb('VmRSS');
    const peak = kb('VmHWM');
    if (!Number.isFinite(now) || !Number.isFinite(peak)) return null;
    return { now: Math.round(now / 1024), peak: Math.round(peak / 1024) };
  } catch {
    return null;
  }
}
