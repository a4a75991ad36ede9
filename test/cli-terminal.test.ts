import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryArgs } from './harness/entry.js';

// A secret the CLI asks for on the terminal, run with no terminal: the error names the flag that pipes it in for that
// command. The provider key's prompt said "--password-stdin", the owner account's flag (found by a review).

describe('a hidden prompt without a terminal', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...entryArgs('src/cli/run.ts'), ...args], {
      env: { ...process.env, TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-tty-')) },
      input: '',
      encoding: 'utf8',
      // A correctness bound, not a speed test: starting the CLI through tsx on a loaded 2-core machine.
      timeout: 90_000,
    });

  it('names the flag of the command that asked', () => {
    const key = run('providers', 'credentials', 'add', 'prov_x');
    expect(key.status).toBe(1);
    expect(key.stderr).toContain('--value-stdin');
    expect(key.stderr).not.toContain('password');
    const owner = run('users', 'create-owner', '--email', 'owner@example.com');
    expect(owner.status).toBe(1);
    expect(owner.stderr).toContain('--password-stdin');
  }, 120_000);
});
