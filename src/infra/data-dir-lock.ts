import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file a running server holds in its data dir: its process id. */
export const DATA_DIR_LOCK = 'server.pid';

/** Another live process holds the data dir: a readable start-up error. */
export class DataDirInUseError extends Error {
  readonly readable = true;
}

/** Whether a process with this id runs (one of another user counts: it cannot be signalled, but it is there). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data dir for this server: two servers on one data dir would each number their usage log's segments from
 * the same files and delete the other's once written, losing usage at a crash (found by an outside review: 66–158
 * events of ~900 after a SIGKILL, against the documented bound of one group). The lock is a file holding the
 * holder's process id, made exclusively; one left by a process that is gone (a crash, a SIGKILL), or by this very
 * process id (a container restarted with the same pid), is taken over. Throws DataDirInUseError while another live
 * process holds it. The CLI does not take it: it writes to the database, never to the usage log. (Two servers taking
 * over the same stale lock at the same instant may both pass: a start racing a start after a crash, not guarded.)
 */
export function lockDataDir(dataDir: string, pid: number = process.pid): { release(): void } {
  const file = join(dataDir, DATA_DIR_LOCK);
  for (let attempt = 0; ; attempt++) {
    // Written whole under another name, then linked in place (which fails if the lock exists): never seen empty.
    const staged = `${file}.${pid}.tmp`;
    writeFileSync(staged, `${pid}\n`, { mode: 0o600 });
    try {
      linkSync(staged, file);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let holder = Number.NaN;
      try {
        holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      } catch {
        // removed meanwhile: try again
      }
      if (Number.isInteger(holder) && holder > 0 && holder !== pid && alive(holder)) {
        throw new DataDirInUseError(
          `Another Tollgate server (process ${holder}) is using the data dir ${dataDir}: two servers on one data dir would overwrite each other's usage log. Stop it first, or give this one its own TOLLGATE_DATA_DIR (instances that share a database each keep their own data dir). If no such process runs, remove ${file}.`,
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
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (Number.parseInt(readFileSync(file, 'utf8'), 10) === pid) unlinkSync(file);
      } catch {
        // gone already
      }
    },
  };
}
