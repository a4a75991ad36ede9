import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './child-server.js';

// Servers of our own for fault tests, so stopping one never disturbs the machine's shared PostgreSQL and Redis.

/**
 * The environment of these servers and their clients: without the libfaketime that `npm run test:shifted` preloads
 * into every process. They stand in for the shared servers, which run on the machine's real clock, and redis-server
 * and redis-cli (built with jemalloc) deadlock under it at start.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.LD_PRELOAD?.includes('faketime')) delete env.LD_PRELOAD;
  return env;
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort() : [];
  const v = versions.at(-1);
  if (!v) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  return join(root, v, 'bin', name);
}

export function canRunPrivatePostgres(): boolean {
  try {
    pgBin('initdb');
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export interface PrivatePostgres {
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

/** initdb + pg_ctl in a temp dir on a free port, as the postgres user (the server refuses to run as root). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const asPg = (cmd: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe', timeout: 60_000, env: serverEnv() });
  asPg(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = () => asPg(pgBin('pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
  const stop = () => asPg(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): its socket stays open and nothing is answered, as behind a partition. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
}

/** A redis-server child process on a free port; stop and start it again on the same port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', env: serverEnv() });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        // Bounded: a synchronous call that hangs would stop this whole test worker, its timeouts included.
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe', env: serverEnv(), timeout: 5_000 });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error('private redis did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const p = proc;
      // Stopped already (killed by a signal, its exitCode stays null): nothing to wait for.
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  await start();
  const signal = (sig: NodeJS.Signals) => () => {
    const p = proc as ChildProcess | null;
    if (p && p.exitCode === null) p.kill(sig);
  };
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, pause: signal('SIGSTOP'), resume: signal('SIGCONT') };
}
