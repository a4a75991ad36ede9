import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_LOCK, DataDirInUseError, lockDataDir } from './data-dir-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-lock-'));
/** The id of a process that has exited (nothing runs under it now, barring reuse in the instant since). */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

describe('lockDataDir', () => {
  it('holds the data dir for one process: a second live holder is refused, readably, until the first releases it', () => {
    const d = dir();
    const first = lockDataDir(d);
    expect(readFileSync(join(d, DATA_DIR_LOCK), 'utf8').trim()).toBe(String(process.pid));
    // Another live process (this test's parent) asking for the same dir.
    const parent = process.ppid;
    expect(() => lockDataDir(d, parent)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(d, parent)).toThrow(`process ${process.pid}`);
    first.release();
    expect(existsSync(join(d, DATA_DIR_LOCK))).toBe(false);
    const second = lockDataDir(d, parent);
    expect(readFileSync(join(d, DATA_DIR_LOCK), 'utf8').trim()).toBe(String(parent));
    second.release();
  });

  it('takes over a lock left by a process that is gone, or by its own process id, or unreadable', () => {
    for (const left of [`${deadPid()}\n`, `${process.pid}\n`, 'garbage', '']) {
      const d = dir();
      writeFileSync(join(d, DATA_DIR_LOCK), left);
      const lock = lockDataDir(d);
      expect(readFileSync(join(d, DATA_DIR_LOCK), 'utf8').trim()).toBe(String(process.pid));
      lock.release();
    }
  });

  it('releases only its own lock', () => {
    const d = dir();
    const lock = lockDataDir(d);
    writeFileSync(join(d, DATA_DIR_LOCK), `${process.ppid}\n`);
    lock.release();
    expect(readFileSync(join(d, DATA_DIR_LOCK), 'utf8').trim()).toBe(String(process.ppid));
  });
});
