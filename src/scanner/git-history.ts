import { CatFileBatchParser } from './cat-file-parser.js';
import { type Finding, type FoundIn, type ScanSummary, nameFinding } from './findings.js';
import { streamGit } from './git-process.js';
import { secretsInPath } from './names.js';
import { blobsUnderRefs, listRefs, listStoredObjects } from './object-store.js';
import { type RawChange, RawDiffParser } from './raw-diff-parser.js';
import { type ContentScan, scanContent } from './content.js';
import { scanText } from './scan-text.js';
import { overLimitNote } from './size.js';
import type { ScanOutcome } from './walk.js';

export interface GitScanOptions {
  maxFileSize: number;
  onProgress?: (summary: ScanSummary) => void;
}

// Every commit in the object store (listed by object-store.ts and fed on stdin), not only those reachable
// from refs as with --all: a stash other than the newest lives only in the reflog of refs/stash, and an
// amended-away, reset-away or dropped commit stays in the repository until gc. Children come before parents
// (--topo-order), each with the blobs it added or changed against its first parent. Merges are diffed against
// their first parent so that a blob first seen in a merge (a conflict resolution, or a stash's work tree) is not
// missed; root commits show their whole tree (--root, whatever log.showRoot says). Every blob in any commit's
// tree thus appears at least once. Renames are off: they cost time and a renamed file's blob was already
// recorded where it was added.
const LOG_ARGS = [
  'log',
  '--stdin',
  '--topo-order',
  '--root',
  '--no-renames',
  '--raw',
  '--no-abbrev',
  '--diff-merges=first-parent',
  '--format=%x01%H',
  '-z',
];

// Added, copied, modified, renamed or type-changed entries of the staged changes against HEAD (or against
// the empty tree before the first commit). Respects GIT_INDEX_FILE, which git sets for hooks.
const STAGED_ARGS = ['diff', '--cached', '--raw', '--no-abbrev', '--no-renames', '--diff-filter=d', '-z'];

/**
 * What to scan and where it is: a blob in a commit (RawChange), a blob outside every commit with a git name for it, or
 * a commit or annotated tag object itself (`path` is its id).
 */
type BlobSource = RawChange & { foundIn?: FoundIn };

/**
 * Scans every blob in a repository's object store once (deduplicated by blob id), reporting the commit that
 * introduced it and its path there; failing a commit, the ref that reaches it, or that nothing does. Every commit
 * and annotated tag object is scanned too (its message, its author lines), reported as itself.
 */
export async function scanGitHistory(repo: string, options: GitScanOptions): Promise<ScanOutcome> {
  const stored = await listStoredObjects(repo);
  const blobs = new Map<string, BlobSource>();
  const names = new NamesInPaths();
  const summary: ScanSummary = { files: 0, bytes: 0, commits: 0 };
  // Children come before parents, so the last commit seen for a blob (or a path) is the one that introduced it.
  const parser = new RawDiffParser(
    (change) => {
      blobs.set(change.oid, change);
      // Every path, not only each blob's: a file renamed to a key's name keeps content already seen.
      names.add(change.path, change.commit);
    },
    (commits) => {
      summary.commits = commits;
      if (commits % 500 === 0) options.onProgress?.(summary);
    },
  );
  // Without commits there is nothing to walk (and `git log` would fall back to an unborn HEAD and fail).
  if (stored.commits.length > 0) await streamGit(repo, LOG_ARGS, (chunk) => parser.push(chunk), `${stored.commits.join('\n')}\n`);
  parser.end();
  const refs = await listRefs(repo);
  // A ref's name is pushed and cloned with the repository: a branch named after a key is a leak too.
  for (const ref of refs) names.add(ref, null);
  await addBlobsOutsideCommits(repo, stored.blobs, blobs, refs);
  // Commit and tag objects are text too: a key pasted into a commit message or a tag's annotation is in the history.
  for (const oid of stored.commits) blobs.set(oid, { commit: oid, oid, path: oid, foundIn: 'commit' });
  for (const oid of stored.tags) blobs.set(oid, { commit: null, oid, path: oid, foundIn: 'tag' });
  const outcome = await scanBlobs(repo, blobs, summary, options);
  outcome.findings.push(...names.findings());
  return outcome;
}

/** Secrets in the paths of a history, each once per place (a directory's name once for all under it), with its commit. */
class NamesInPaths {
  private readonly found = new Map<string, Finding>();

  /** Adds a path seen in `commit`; a later call for the same place (an older commit, in git log's order) wins. */
  add(path: string, commit: string | null): void {
    for (const { match, location } of secretsInPath(path)) this.found.set(`${location}\0${match.secret}`, nameFinding(match, location, commit));
  }

  findings(): Finding[] {
    return [...this.found.values()];
  }
}

/** Adds the stored blobs no commit holds: named by a ref that reaches them (a tag on a blob or tree), else unreachable. */
async function addBlobsOutsideCommits(repo: string, stored: readonly string[], blobs: Map<string, BlobSource>, refs: readonly string[]): Promise<void> {
  const outside = new Set(stored.filter((oid) => !blobs.has(oid)));
  if (outside.size === 0) return;
  for (const { oid, name } of await blobsUnderRefs(repo, refs)) {
    if (outside.delete(oid)) blobs.set(oid, { commit: null, oid, path: name, foundIn: 'ref' });
  }
  for (const oid of outside) blobs.set(oid, { commit: null, oid, path: oid, foundIn: 'unreachable' });
}

/** Scans the staged content (the index) of the files that differ from HEAD: what the next commit adds. */
export async function scanStaged(repo: string, options: GitScanOptions): Promise<ScanOutcome> {
  const blobs = new Map<string, RawChange>();
  const names = new NamesInPaths();
  const parser = new RawDiffParser((change) => {
    if (!blobs.has(change.oid)) blobs.set(change.oid, change);
    names.add(change.path, null);
  });
  await streamGit(repo, STAGED_ARGS, (chunk) => parser.push(chunk));
  parser.end();
  const outcome = await scanBlobs(repo, blobs, { files: 0, bytes: 0, commits: 0 }, options);
  outcome.findings.push(...names.findings());
  return outcome;
}

/** Streams the blobs' contents out of one `git cat-file --batch` and scans each. */
async function scanBlobs(repo: string, blobs: ReadonlyMap<string, BlobSource>, summary: ScanSummary, options: GitScanOptions): Promise<ScanOutcome> {
  const findings: Finding[] = [];
  const notes: string[] = [];
  const parser = new CatFileBatchParser(options.maxFileSize);
  const onChunk = (chunk: Buffer): void => {
    for (const object of parser.push(chunk)) {
      const where = blobs.get(object.oid);
      const expected = where?.foundIn === 'commit' || where?.foundIn === 'tag' ? where.foundIn : 'blob';
      if (!where || object.type !== expected) continue;
      const label =
        where.foundIn === 'unreachable' ? `unreachable blob ${where.path}` : expected !== 'blob' ? `${expected} ${where.path}` : `${where.commit ? `${where.commit}:` : ''}${where.path}`;
      if (!object.content) {
        notes.push(overLimitNote(label, object.size, options.maxFileSize));
        continue;
      }
      // A blob may be UTF-16 text or compressed; a commit or tag object is git's own text.
      const content: ContentScan =
        expected === 'blob' ? scanContent(object.content, label, options.maxFileSize, where.path) : { matches: scanText(object.content.toString('latin1')).map((m) => ({ ...m, inside: null })), notes: [] };
      for (const m of content.matches) {
        const file = m.inside === null ? where.path : `${where.path}!/${m.inside}`;
        findings.push({
          type: m.type,
          secondary: m.secondary,
          secret: m.secret,
          kind: m.kind,
          file,
          line: m.line,
          column: m.column,
          commit: where.commit,
          ...(where.foundIn ? { foundIn: where.foundIn } : {}),
          ...(m.inName ? { inName: true } : {}),
        });
      }
      notes.push(...content.notes);
      // The summary counts files (blobs); commits are counted by the walk, and a tag object is no file.
      if (expected !== 'blob') continue;
      summary.files++;
      summary.bytes += object.size;
      if (summary.files % 200 === 0) options.onProgress?.(summary);
    }
  };
  if (blobs.size > 0) {
    // --buffer: git flushes output in blocks instead of after every object, which is much faster.
    await streamGit(repo, ['cat-file', '--batch', '--buffer'], onChunk, `${[...blobs.keys()].join('\n')}\n`);
    parser.end();
  }
  options.onProgress?.(summary);
  return { findings, summary, notes };
}
