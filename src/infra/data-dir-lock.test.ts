import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_LOCK, DataDirInUseError, LOCK_STALE_MS, lockDataDir } from './data-dir-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-lock-'));
/** The id of a process that has exited (nothing runs under it now, barring reuse in the instant since). */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;
const here = (pid: number) => ({ pid, host: hostname() });
const lockFile = (d: string) => join(d, DATA_DIR_LOCK);
const holder = (d: string) => readFileSync(lockFile(d), 'utf8').trim().split(' ');
/**
 * Makes the lock look untouched since well before the stale bound, by the file system's clock (the one its age is read
 * against; under test:shifted, Date.now() is ten years away from it).
 */
const age = (d: string) => {
  const old = (statSync(lockFile(d)).mtimeMs - 10 * LOCK_STALE_MS) / 1000;
  utimesSync(lockFile(d), old, old);
};

describe('lockDataDir', () => {
  it('holds the data dir for one process: a second live holder is refused, readably, until the first releases it', () => {
    const d = dir();
    const first = lockDataDir(d);
    expect(holder(d).slice(0, 2)).toEqual([String(process.pid), hostname()]);
    // Another live process of this host (this test's parent) asking for the same dir.
    const parent = here(process.ppid);
    expect(() => lockDataDir(d, parent)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(d, parent)).toThrow(`process ${process.pid}`);
    first.release();
    expect(existsSync(lockFile(d))).toBe(false);
    const second = lockDataDir(d, parent);
    expect(holder(d)[0]).toBe(String(process.ppid));
    second.release();
  });

  it('takes over at once a lock of a process of this host that is gone, or one unreadable', () => {
    for (const left of [`${deadPid()} ${hostname()} abc\n`, `${deadPid()}\n`, 'garbage', '']) {
      const d = dir();
      writeFileSync(lockFile(d), left);
      const lock = lockDataDir(d);
      expect(holder(d)[0]).toBe(String(process.pid));
      lock.release();
    }
  });

  it('refuses a holder it cannot ask (another host, or its own process id: two containers both run as process 1) while it touches its lock, and takes it over once it has not for the stale bound', () => {
    for (const left of [`${process.pid} ${hostname()} theirs\n`, `1 other-container theirs\n`, `${process.pid} other-container theirs\n`]) {
      const d = dir();
      writeFileSync(lockFile(d), left);
      expect(() => lockDataDir(d), left).toThrow(DataDirInUseError);
      age(d);
      const lock = lockDataDir(d);
      expect(holder(d)[0]).toBe(String(process.pid));
      lock.release();
    }
  });

  it('says whether the holder is one no process here can ask (a start may wait for it to go stale)', () => {
    const d = dir();
    const lock = lockDataDir(d);
    const refusal = (me: { pid: number; host: string }) => {
      try {
        lockDataDir(d, me);
      } catch (err) {
        return err as DataDirInUseError;
      }
      throw new Error('not refused');
    };
    expect(refusal(here(process.ppid)).unaskable).toBe(false);
    expect(refusal(here(process.pid)).unaskable).toBe(true);
    expect(refusal({ pid: process.ppid, host: 'another-container' }).unaskable).toBe(true);
    lock.release();
  });

  it('touches its lock while it holds it, so that a holder no other process can ask is seen to live', async () => {
    const d = dir();
    const lock = lockDataDir(d, here(process.pid), 20);
    age(d);
    await new Promise((r) => setTimeout(r, 200));
    expect(() => lockDataDir(d, { pid: 1, host: 'other-container' })).toThrow(DataDirInUseError);
    lock.release();
  });

  it('releases only its own lock, never one another start took over meanwhile', () => {
    const d = dir();
    const lock = lockDataDir(d);
    writeFileSync(lockFile(d), `${process.pid} ${hostname()} someone-else\n`);
    lock.release();
    expect(holder(d)[2]).toBe('someone-else');
  });
});
