import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { sortFindings } from './findings.js';
import { scanGitHistory, scanStaged } from './git-history.js';

const key = () => generateSecret('project', randomBytes);
const adminKey = () => generateSecret('admin', randomBytes);
const MB = 1024 * 1024;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

let repo: string;
const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, env: ENV, encoding: 'utf8' }).trim();
async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(join(repo, path)), { recursive: true });
  await writeFile(join(repo, path), content);
}
async function commit(files: Record<string, string>, message = 'c'): Promise<string> {
  for (const [path, content] of Object.entries(files)) await put(path, content);
  git('add', '-A');
  git('commit', '-q', '--allow-empty', '-m', message);
  return git('rev-parse', 'HEAD');
}

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'tollgate-git-'));
  git('init', '-q', '-b', 'main');
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('scanGitHistory', () => {
  it('finds a key in a file deleted deep in history, at the commit that added it', async () => {
    const k = key();
    await commit({ 'README.md': 'hello' });
    const leak = await commit({ 'config/secrets.env': `A=1\nB=2\nTOKEN=${k}\n` });
    git('rm', '-q', 'config/secrets.env');
    git('commit', '-q', '-m', 'remove secret');
    for (let i = 0; i < 20; i++) await commit({ 'README.md': `hello ${i}` });
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings).toEqual([
      { type: 'tollgate', secondary: false, secret: k, kind: 'project', file: 'config/secrets.env', line: 3, column: 7, commit: leak },
    ]);
    expect(out.summary.commits).toBe(23);
  });

  it('scans each blob once even when it appears at several paths and commits', async () => {
    const k = key();
    const first = await commit({ 'a.txt': k });
    await commit({ 'copy/a.txt': k });
    await commit({ 'other.txt': 'x' });
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.commit])).toEqual([['a.txt', first]]);
    expect(out.summary.files).toBe(2);
  });

  it('finds keys on unmerged branches and reports the branch commit for merged ones', async () => {
    const [merged, unmerged] = [key(), key()];
    await commit({ 'base.txt': 'base' });
    git('checkout', '-q', '-b', 'feature');
    const featureCommit = await commit({ 'feature.txt': merged });
    git('checkout', '-q', '-b', 'wip', 'main');
    const wipCommit = await commit({ 'wip.txt': unmerged });
    git('checkout', '-q', 'main');
    await commit({ 'main.txt': 'main' });
    git('merge', '-q', '--no-edit', 'feature');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(sortFindings(out.findings).map((f) => [f.file, f.commit])).toEqual([
      ['feature.txt', featureCommit],
      ['wip.txt', wipCommit],
    ]);
  });

  it('finds a key that first appears in a merge commit (a conflict resolution)', async () => {
    const k = key();
    await commit({ 'conf.txt': 'base' });
    git('checkout', '-q', '-b', 'other');
    await commit({ 'conf.txt': 'theirs' });
    git('checkout', '-q', 'main');
    await commit({ 'conf.txt': 'ours' });
    try {
      git('merge', '-q', 'other');
    } catch {
      // The conflict is the point: resolve it with content neither side had.
    }
    await put('conf.txt', `resolved ${k}`);
    git('add', 'conf.txt');
    git('commit', '-q', '--no-edit');
    const mergeCommit = git('rev-parse', 'HEAD');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.commit, f.column])).toEqual([['conf.txt', mergeCommit, 10]]);
  });

  it('finds a key in a binary blob and notes blobs over the size limit', async () => {
    const [small, big] = [key(), key()];
    await commit({ 'img.bin': Buffer.concat([Buffer.from([0, 0, 0]), Buffer.from(small), Buffer.from([0])]).toString('latin1') });
    await commit({ 'big.txt': `${big}${'x'.repeat(4096)}` });
    const out = await scanGitHistory(repo, { maxFileSize: 2048 });
    expect(out.findings.map((f) => f.secret)).toEqual([small]);
    expect(out.notes).toHaveLength(1);
    expect(out.notes[0]).toMatch(/^skipped [0-9a-f]{40}:big\.txt: 4\.\d KB is over the 2 KB limit/);
  });

  it('finds a key added by the root commit even when log.showRoot is off', async () => {
    git('config', 'log.showRoot', 'false');
    const k = key();
    const root = await commit({ 'first.txt': k });
    await commit({ 'second.txt': 'x' });
    expect((await scanGitHistory(repo, { maxFileSize: MB })).findings.map((f) => [f.file, f.commit])).toEqual([['first.txt', root]]);
  });

  const hasSshKeygen = (() => {
    try {
      execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
      return true;
    } catch (err) {
      return (err as { status?: number }).status !== undefined;
    }
  })();
  it.skipIf(!hasSshKeygen)('is not confused by log.showSignature on signed commits', async () => {
    const keyFile = join(repo, '..', `${repo.split('/').pop()}-signing`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    try {
      git('config', 'gpg.format', 'ssh');
      git('config', 'user.signingkey', `${keyFile}.pub`);
      git('config', 'commit.gpgSign', 'true');
      git('config', 'log.showSignature', 'true');
      const k = key();
      const signed = await commit({ 'a.txt': k });
      expect((await scanGitHistory(repo, { maxFileSize: MB })).findings.map((f) => f.commit)).toEqual([signed]);
    } finally {
      await rm(keyFile, { force: true });
      await rm(`${keyFile}.pub`, { force: true });
    }
  });

  it('finds a key in every stash, not only the newest (older ones live only in the reflog of refs/stash)', async () => {
    const [older, newer] = [key(), key()];
    await commit({ 'a.txt': 'hi' });
    await put('a.txt', `KEY=${older}`);
    git('stash', '-q');
    await put('a.txt', `KEY=${newer}`);
    git('stash', '-q');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(new Map(out.findings.map((f) => [f.secret, [f.file, f.commit]]))).toEqual(
      new Map([
        [older, ['a.txt', git('rev-parse', 'stash@{1}')]],
        [newer, ['a.txt', git('rev-parse', 'stash@{0}')]],
      ]),
    );
    expect(out.findings).toHaveLength(2);
  });

  it('finds a key in a blob that only a tag reaches, lightweight or annotated, and names the tag', async () => {
    const [onBlob, annotated] = [adminKey(), key()];
    await commit({ 'a.txt': 'a' });
    const blob = (text: string) => execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: text, encoding: 'utf8' }).trim();
    git('tag', 'blob-tag', blob(`T=${onBlob}\n`));
    git('tag', '-a', '-m', 'x', 'ann-blob', blob(`\nU=${annotated}`));
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(sortFindings(out.findings)).toEqual([
      { type: 'tollgate', secondary: false, secret: annotated, kind: 'project', file: 'refs/tags/ann-blob', line: 2, column: 3, commit: null, foundIn: 'ref' },
      { type: 'tollgate', secondary: false, secret: onBlob, kind: 'admin', file: 'refs/tags/blob-tag', line: 1, column: 3, commit: null, foundIn: 'ref' },
    ]);
  });

  it('finds a key in a tree that only a tag reaches, with its path in the tree', async () => {
    const k = key();
    await commit({ 'a.txt': 'a' });
    await put('dir/k.txt', k);
    git('add', 'dir/k.txt');
    const tree = git('write-tree');
    git('reset', '-q');
    git('tag', 'tree-tag', tree);
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.commit, f.foundIn])).toEqual([['refs/tags/tree-tag:dir/k.txt', null, 'ref']]);
  });

  it('finds a key in a commit that an amend replaced, even once no reflog keeps it', async () => {
    const k = key();
    await commit({ 'a.txt': 'a' });
    const leak = await commit({ 'conf.env': `KEY=${k}` });
    await put('conf.env', 'KEY=');
    git('add', '-A');
    git('commit', '-q', '--amend', '-m', 'c');
    expect((await scanGitHistory(repo, { maxFileSize: MB })).findings.map((f) => [f.file, f.commit])).toEqual([['conf.env', leak]]);
    git('reflog', 'expire', '--expire=now', '--all');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.commit])).toEqual([['conf.env', leak]]);
    expect(out.summary.commits).toBe(3);
    // What the docs prescribe to be rid of it: expire the reflogs and prune.
    git('gc', '-q', '--prune=now');
    expect((await scanGitHistory(repo, { maxFileSize: MB })).findings).toEqual([]);
  });

  it('finds a key in a blob no commit or ref holds (added, then unstaged) and says it is unreachable', async () => {
    const k = key();
    await commit({ 'a.txt': 'a' });
    await put('b.env', k);
    git('add', 'b.env');
    const blob = git('rev-parse', ':b.env');
    git('reset', '-q');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.secret, f.file, f.commit, f.foundIn])).toEqual([[k, blob, null, 'unreachable']]);
  });

  it('notes an unreachable blob over the size limit by its id', async () => {
    await commit({ 'a.txt': 'a' });
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: 'x'.repeat(4096), encoding: 'utf8' }).trim();
    const out = await scanGitHistory(repo, { maxFileSize: 2048 });
    expect(out.notes).toEqual([expect.stringMatching(new RegExp(`^skipped unreachable blob ${blob}: `))]);
  });

  it('reports progress, ending with the full count', async () => {
    await commit({ 'a.txt': 'a' });
    await commit({ 'b.txt': 'bb' });
    const seen: Array<{ files: number; bytes: number; commits: number }> = [];
    await scanGitHistory(repo, { maxFileSize: MB, onProgress: (s) => seen.push({ ...s }) });
    expect(seen.at(-1)).toEqual({ files: 2, bytes: 3, commits: 2 });
  });

  it('handles a repository without commits', async () => {
    expect(await scanGitHistory(repo, { maxFileSize: MB })).toEqual({ findings: [], notes: [], summary: { files: 0, bytes: 0, commits: 0 } });
  });

  it('rejects a directory that is not a repository', async () => {
    const plain = await mkdtemp(join(tmpdir(), 'tollgate-not-git-'));
    try {
      await expect(scanGitHistory(plain, { maxFileSize: MB })).rejects.toThrow(/not a git repository/);
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });
});

describe('scanGitHistory: commit and tag objects', () => {
  it('finds keys in UTF-16 and gzip blobs, named inside the blob', async () => {
    const [a, b] = [key(), key()];
    await put('ps.env', Buffer.from(`KEY=${a}`, 'utf16le'));
    const c = await commit({});
    await put('data.json.gz', gzipSync(`{"k": "${b}"}`));
    git('add', '-A');
    git('commit', '-q', '-m', 'gz');
    const d = git('rev-parse', 'HEAD');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(sortFindings(out.findings).map((f) => [f.file, f.commit, f.line, f.column, f.secret])).toEqual([
      ['data.json.gz!/data.json', d, 1, 8, b],
      ['ps.env', c, 1, 5, a],
    ]);
  });

  it('finds a key in a commit message, reported with the commit it is in', async () => {
    const k = key();
    const c = await commit({ 'a.txt': 'x' }, `fix config\n\nused ${k} to test\n`);
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    // `git cat-file -p <commit>`: tree, author, committer, a blank line, then the message (its third line here).
    const shown = git('cat-file', '-p', c).split('\n');
    const line = shown.findIndex((l) => l.includes(k)) + 1;
    expect(out.findings).toEqual([
      { type: 'tollgate', secondary: false, secret: k, kind: 'project', file: c, line, column: 6, commit: c, foundIn: 'commit' },
    ]);
    expect(out.summary.files).toBe(1);
  });

  it('finds a key in an annotated tag message, even once the tag is deleted (until gc)', async () => {
    const [kept, deleted] = [key(), adminKey()];
    await commit({ 'a.txt': 'x' });
    git('tag', '-a', 'v1', '-m', `release\n\ntoken ${kept}`);
    git('tag', '-a', 'v0', '-m', `old ${deleted}`);
    const v0 = git('rev-parse', 'v0');
    git('tag', '-d', 'v0');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    const v1 = git('rev-parse', 'v1');
    expect(sortFindings(out.findings).map((f) => [f.secret, f.file, f.commit, f.foundIn])).toEqual(
      sortFindings([
        { type: 'tollgate', secondary: false, secret: kept, file: v1, line: 1, column: 1, commit: null },
        { type: 'tollgate', secondary: false, secret: deleted, file: v0, line: 1, column: 1, commit: null },
      ]).map((f) => [f.secret, f.file, null, 'tag']),
    );
  });
});

describe('replace refs (git replace) do not hide what the store holds', () => {
  // A replace ref makes git show one object's content in place of another's; both objects stay in the store and are
  // pushed with refs/replace/*. The scanner reads each object as it is stored, whatever the repository's config says.
  const hashObject = (content: string, type = 'blob') =>
    execFileSync('git', ['hash-object', '-w', '-t', type, '--stdin'], { cwd: repo, input: content, encoding: 'utf8' }).trim();

  for (const config of [null, 'true']) {
    it(`finds a key in a blob shadowed by a replace ref, at the commit that added it${config ? ' (core.useReplaceRefs=true)' : ''}`, async () => {
      const k = key();
      await commit({ 'README.md': 'hello' });
      const leak = await commit({ 'conf.env': `KEY=${k}\n` });
      const leaky = git('rev-parse', `${leak}:conf.env`);
      git('replace', leaky, hashObject('KEY=\n'));
      if (config) git('config', 'core.useReplaceRefs', config);
      expect(git('show', `${leak}:conf.env`)).toBe('KEY='); // what git shows
      const out = await scanGitHistory(repo, { maxFileSize: MB });
      expect(out.findings.map((f) => [f.secret, f.file, f.commit, f.line])).toEqual([[k, 'conf.env', leak, 1]]);
    });
  }

  it('finds a key in a commit message shadowed by a replace ref, and in the tree the replaced commit had', async () => {
    const [inMessage, inTree] = [key(), key()];
    await commit({ 'a.txt': 'a' });
    const leak = await commit({ 'b.env': `KEY=${inTree}` }, `deploy\n\nwith ${inMessage}\n`);
    // The same commit, its message cleaned and its tree its parent's: git log and git show see only this one.
    const clean = git('commit-tree', `${leak}~1^{tree}`, '-p', `${leak}~1`, '-m', 'deploy');
    git('replace', leak, clean);
    expect(git('log', '-1', '--format=%B', leak)).toBe('deploy');
    const out = await scanGitHistory(repo, { maxFileSize: MB });
    expect(sortFindings(out.findings).map((f) => [f.secret, f.file, f.commit, f.foundIn])).toEqual(
      sortFindings([
        { type: 'tollgate', secondary: false, secret: inTree, file: 'b.env', line: 1, column: 1, commit: leak },
        { type: 'tollgate', secondary: false, secret: inMessage, file: leak, line: 1, column: 1, commit: leak, foundIn: 'commit' },
      ]).map((f) => [f.secret, f.file, f.commit, f.foundIn]),
    );
  });

  it('scanStaged reads a staged blob as stored, not its replacement', async () => {
    const k = key();
    await commit({ 'a.txt': 'a' });
    await put('new.env', `KEY=${k}`);
    git('add', 'new.env');
    git('replace', git('rev-parse', ':new.env'), hashObject('KEY='));
    const out = await scanStaged(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.secret])).toEqual([['new.env', k]]);
  });
});

describe('scanStaged', () => {
  it('scans staged content before the first commit', async () => {
    const k = key();
    await put('new.env', `KEY=${k}`);
    git('add', 'new.env');
    const out = await scanStaged(repo, { maxFileSize: MB });
    expect(out.findings).toEqual([{ type: 'tollgate', secondary: false, secret: k, kind: 'project', file: 'new.env', line: 1, column: 5, commit: null }]);
  });

  it('scans what is staged, not the working tree, and only files that differ from HEAD', async () => {
    const [committed, staged, unstaged] = [key(), key(), key()];
    await commit({ 'old.txt': committed, 'edit.txt': 'v1' });
    await put('edit.txt', `v2 ${staged}`);
    git('add', 'edit.txt');
    await put('edit.txt', `v3 ${unstaged}`);
    const out = await scanStaged(repo, { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.secret])).toEqual([['edit.txt', staged]]);
  });

  it('finds nothing when nothing is staged', async () => {
    await commit({ 'a.txt': key() });
    expect((await scanStaged(repo, { maxFileSize: MB })).findings).toEqual([]);
  });
});
