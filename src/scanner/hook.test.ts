import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOOK_COMMAND, hookScript, installHook } from './hook.js';

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'tollgate-hook-'));
  execFileSync('git', ['init', '-q'], { cwd: repo });
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

const hookPath = () => join(repo, '.git', 'hooks', 'pre-commit');

describe('hookScript', () => {
  it('runs the CLI with npx --no-install by default, or the given command', () => {
    expect(DEFAULT_HOOK_COMMAND).toBe('npx --no-install tollgate');
    expect(hookScript()).toMatch(/^#!\/bin\/sh\n[\s\S]*\nexec npx --no-install tollgate scan --staged\n$/);
    expect(hookScript('node /x/scan-entry.ts')).toContain('\nexec node /x/scan-entry.ts scan --staged\n');
  });
});

describe('installHook', () => {
  it('installs an executable pre-commit hook', async () => {
    expect(await installHook({ repo })).toEqual({ path: hookPath(), action: 'installed' });
    expect(await readFile(hookPath(), 'utf8')).toBe(hookScript());
    expect((await stat(hookPath())).mode & 0o111).toBe(0o111);
  });

  it('leaves its own hook alone on a second run, restoring the executable bit', async () => {
    await installHook({ repo });
    execFileSync('chmod', ['644', hookPath()]);
    expect((await installHook({ repo })).action).toBe('unchanged');
    expect((await stat(hookPath())).mode & 0o111).toBe(0o111);
  });

  it('refuses to overwrite a different hook without force', async () => {
    await writeFile(hookPath(), '#!/bin/sh\necho mine\n');
    await expect(installHook({ repo })).rejects.toThrow(/already exists.*--force/);
    expect(await readFile(hookPath(), 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });

  it('with force replaces a different hook and keeps a backup', async () => {
    await writeFile(hookPath(), '#!/bin/sh\necho mine\n');
    const r = await installHook({ repo, force: true, command: 'tg' });
    expect(r).toEqual({ path: hookPath(), action: 'replaced', backup: `${hookPath()}.tollgate-backup` });
    expect(await readFile(hookPath(), 'utf8')).toBe(hookScript('tg'));
    expect(await readFile(`${hookPath()}.tollgate-backup`, 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });

  it('installs into core.hooksPath when the repository sets one', async () => {
    execFileSync('git', ['config', 'core.hooksPath', 'my-hooks'], { cwd: repo });
    expect((await installHook({ repo })).path).toBe(join(repo, 'my-hooks', 'pre-commit'));
    expect(await readFile(join(repo, 'my-hooks', 'pre-commit'), 'utf8')).toBe(hookScript());
  });
});
