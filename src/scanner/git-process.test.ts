import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGit, streamGit } from './git-process.js';

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'tollgate-git-process-'));
  execFileSync('git', ['init', '-q'], { cwd: repo });
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('streamGit and runGit', () => {
  it('feeds stdin and returns stdout', async () => {
    const oid = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: 'hello\n', encoding: 'utf8' }).trim();
    expect((await runGit(repo, ['cat-file', '--batch-check'])).toString()).toBe('');
    const out: Buffer[] = [];
    await streamGit(repo, ['cat-file', '--batch-check'], (c) => out.push(c), `${oid}\n`);
    expect(Buffer.concat(out).toString()).toBe(`${oid} blob 6\n`);
  });

  it('rejects with git\'s error message when git fails', async () => {
    await expect(runGit(repo, ['rev-parse', 'no-such-ref'])).rejects.toThrow(/^git rev-parse failed in .+: .*no-such-ref/s);
  });

  it('rejects with the error of a chunk handler instead of crashing', async () => {
    await expect(
      streamGit(repo, ['rev-parse', '--git-dir'], () => {
        throw new Error('parser gave up');
      }),
    ).rejects.toThrow('parser gave up');
  });
});
