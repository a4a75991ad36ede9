import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runGit } from './git-process.js';

// `tollgate scan --install-hook`: a pre-commit hook that refuses commits staging a Tollgate key.
// It needs no server: a valid checksum alone blocks (unless a configured server says the key is dead).

/** The command the hook runs, followed by `scan --staged`. `--no-install`: never fetch code at commit time. */
export const DEFAULT_HOOK_COMMAND = 'npx --no-install tollgate';

export interface InstallHookOptions {
  repo: string;
  command?: string;
  /** Replace an existing, different pre-commit hook (kept as pre-commit.tollgate-backup). */
  force?: boolean;
}

export interface InstallHookResult {
  path: string;
  action: 'installed' | 'unchanged' | 'replaced';
  backup?: string;
}

/** The hook script for a given CLI command. */
export function hookScript(command: string = DEFAULT_HOOK_COMMAND): string {
  return [
    '#!/bin/sh',
    '# Installed by `tollgate scan --install-hook`: blocks commits whose staged files contain a Tollgate',
    '# API key with a valid checksum. To bypass once (you are sure it is not a secret): git commit --no-verify',
    `exec ${command} scan --staged`,
    '',
  ].join('\n');
}

/** Installs the pre-commit hook in the repository's hooks directory (honours core.hooksPath). */
export async function installHook(options: InstallHookOptions): Promise<InstallHookResult> {
  const hooksDir = resolve(options.repo, (await runGit(options.repo, ['rev-parse', '--git-path', 'hooks'])).toString('utf8').trim());
  const path = join(hooksDir, 'pre-commit');
  const script = hookScript(options.command);
  const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  let result: InstallHookResult;
  if (existing === script) result = { path, action: 'unchanged' };
  else if (existing === null) result = { path, action: 'installed' };
  else if (!options.force) throw new Error(`${path} already exists and is not Tollgate's hook; re-run with --force to replace it (the old hook is kept as a backup)`);
  else {
    const backup = `${path}.tollgate-backup`;
    await copyFile(path, backup);
    result = { path, action: 'replaced', backup };
  }
  await mkdir(hooksDir, { recursive: true });
  if (result.action !== 'unchanged') await writeFile(path, script);
  // Also on 'unchanged': a hook that lost its executable bit is silently skipped by git.
  await chmod(path, 0o755);
  return result;
}
