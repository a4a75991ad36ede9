import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The file a running server holds in its data dir: who holds it (process id, host, a token of its own). */
export const DATA_DIR_LOCK = 'server.pid';
/** How often a holder touches its lock, and how long untouched a lock whose holder cannot be asked is taken for gone. */
export const LOCK_HEARTBEAT_MS = 5000;
export const LOCK_STALE_MS = 3 * LOCK_HEARTBEAT_MS;

/** Another live process holds the data dir: a readable start-up error. */
export class DataDirInUseError extends Error {
  readonly readable = true;
  constructor(
    message: string,
    /**
     * Whether its holder is one no process here can ask (another host, or this very process id: maybe this container's
     * previous life): its lock is taken over once untouched for LOCK_STALE_MS, which a start may wait for.
     */
    readonly unaskable: boolean,
  ) {
    super(message);
  }
}

/** Whether a process with this id runs here (one of another user counts: it cannot be signalled, but it is there). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The time by the clock that stamps the data dir's files (the lock's age is read against its modification time, and a
 * shared volume's server may keep another clock than this host): the modification time of a file written now.
 */
function fileSystemNow(dataDir: string, token: string): number {
  const probe = join(dataDir, `.clock.${token}`);
  writeFileSync(probe, '');
  try {
    return statSync(probe).mtimeMs;
  } finally {
    unlinkSync(probe);
  }
}

interface Holder {
  pid: number;
  host: string | null;
  token: string | null;
}

/** The holder a lock file names: `pid host token` (an earlier version wrote the pid alone). */
function holderOf(text: string): Holder {
  const [pid, host, token] = text.trim().split(/\s+/);
  return { pid: Number.parseInt(pid ?? '', 10), host: host ?? null, token: token ?? null };
}

/**
 * Whether the lock's holder may be gone: a process of this host that no longer runs is (a crash, a SIGKILL: taken over
 * at once). Any other holder — on another host (another container on a shared volume), or naming this very process
 * id (two containers both run as process 1) — cannot be asked, and is taken for gone only once its lock has gone
 * untouched for LOCK_STALE_MS (a live holder touches it every LOCK_HEARTBEAT_MS).
 */
function holderGone(h: Holder, file: string, me: { pid: number; host: string }, nowMs: number): boolean {
  if (!Number.isInteger(h.pid) || h.pid <= 0) return true;
  const sameHost = h.host === null || h.host === me.host;
  if (sameHost && h.pid !== me.pid && !alive(h.pid)) return true;
  if (sameHost && h.pid !== me.pid) return false;
  try {
    return nowMs - statSync(file).mtimeMs > LOCK_STALE_MS;
  } catch {
    return true;
  }
}

/**
 * Takes the data dir for this server: two servers on one data dir would each number their usage log's segments from
 * the same files and delete the other's once written, losing usage at a crash (found by an outside review: 66–158
 * events of ~900 after a SIGKILL, against the documented bound of one group). The lock file names its holder (process
 * id, host, and a token of this start), is made exclusively, and is touched every LOCK_HEARTBEAT_MS while held; one
 * whose holder is gone (holderGone) is taken over. Throws DataDirInUseError while another holder lives. The CLI does
 * not take it: it writes to the database, never to the usage log. (Two servers taking over the same stale lock at the
 * same instant may both pass: a start racing a start after a crash, not guarded.)
 */
export function lockDataDir(
  dataDir: string,
  me: { pid: number; host: string } = { pid: process.pid, host: hostname() },
  heartbeatMs = LOCK_HEARTBEAT_MS,
): { release(): void } {
  const file = join(dataDir, DATA_DIR_LOCK);
  const token = randomBytes(8).toString('hex');
  const mine = `${me.pid} ${me.host.replace(/\s/g, '_')} ${token}\n`;
  for (let attempt = 0; ; attempt++) {
    // Written whole under another name, then linked in place (which fails if the lock exists): never seen empty.
    const staged = `${file}.${token}.tmp`;
    writeFileSync(staged, mine, { mode: 0o600 });
    try {
      linkSync(staged, file);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let held = '';
      try {
        held = readFileSync(file, 'utf8');
      } catch {
        // removed meanwhile: try again
      }
      const holder = holderOf(held);
      if (held && !holderGone(holder, file, { ...me, host: me.host.replace(/\s/g, '_') }, fileSystemNow(dataDir, token))) {
        const where = holder.host && holder.host !== me.host ? ` on ${holder.host}` : '';
        const host = me.host.replace(/\s/g, '_');
        throw new DataDirInUseError(
          `Another Tollgate server (process ${holder.pid}${where}) is using the data dir ${dataDir}: two servers on one data dir would overwrite each other's usage log. Stop it first, or give this one its own TOLLGATE_DATA_DIR (instances that share a database each keep their own data dir). A server that is gone without removing ${file} is taken for gone ${LOCK_STALE_MS / 1000} s after it last touched it.`,
          (holder.host !== null && holder.host !== host) || holder.pid === me.pid,
        );
      }
      try {
        unlinkSync(file);
      } catch {
        // removed meanwhile
      }
    } finally {
      unlinkSync(staged);
    }
  }
  const ours = () => {
    try {
      return holderOf(readFileSync(file, 'utf8')).token === token;
    } catch {
      return false;
    }
  };
  // Touched while held, so that a holder another process cannot ask is seen to live.
  const heartbeat = setInterval(() => {
    try {
      if (!ours()) return;
      const now = fileSystemNow(dataDir, token) / 1000;
      utimesSync(file, now, now);
    } catch {
      // a data dir gone read-only: the next start decides by the lock's age
    }
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only this start's own lock: never one another server took over meanwhile.
      if (ours()) unlinkSync(file);
    },
  };
}
