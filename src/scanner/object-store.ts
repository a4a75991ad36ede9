import { runGit, streamGit } from './git-process.js';

// What a repository holds beyond what `git log --all` walks: every commit and blob in its object store
// (commits kept only by a reflog, dropped stashes, amended-away commits, blobs never committed), and
// the blobs that refs reach without a commit (a tag, lightweight or annotated, on a blob or a tree).

/** Every commit, annotated tag and blob id in the object store, reachable or not (git-cat-file(1), --batch-all-objects). */
export interface StoredObjects {
  commits: string[];
  /** Annotated tag objects (a lightweight tag is only a ref): their messages are text a key can be pasted into. */
  tags: string[];
  blobs: string[];
}

/** A blob reached from a ref without a commit: `refs/tags/x` (the ref is the blob) or `refs/tags/x:dir/a.txt`. */
export interface RefBlob {
  oid: string;
  name: string;
}

// Objects of alternates (objects/info/alternates) are included: they are readable through this repository.
const LIST_ARGS = ['cat-file', '--batch-all-objects', '--unordered', '--batch-check=%(objecttype) %(objectname)'];

/** Lists the ids of every commit, annotated tag and blob in the repository's object store. */
export async function listStoredObjects(repo: string): Promise<StoredObjects> {
  const out: StoredObjects = { commits: [], tags: [], blobs: [] };
  for (const line of (await runGit(repo, LIST_ARGS)).toString('latin1').split('\n')) {
    const [type, oid] = line.split(' ');
    if (type === 'commit') out.commits.push(oid);
    else if (type === 'tag') out.tags.push(oid);
    else if (type === 'blob') out.blobs.push(oid);
  }
  return out;
}

/** The names of every ref (`refs/heads/main`, `refs/tags/v1`, `refs/stash`…). */
export async function listRefs(repo: string): Promise<string[]> {
  return (await runGit(repo, ['for-each-ref', '--format=%(refname)'])).toString('utf8').split('\n').filter(Boolean);
}

/** Each blob that a ref reaches, after peeling tags, without passing through a commit. */
export async function blobsUnderRefs(repo: string, refs?: readonly string[]): Promise<RefBlob[]> {
  refs ??= await listRefs(repo);
  if (refs.length === 0) return [];
  // `<ref>^{}` peels annotated tags (even a tag of a tag) down to the object they name; %(rest) echoes the ref.
  const input = refs.map((r) => `${r}^{} ${r}\n`).join('');
  const peeled = await runGitWithInput(repo, ['cat-file', '--batch-check=%(objecttype) %(objectname) %(rest)'], input);
  const out: RefBlob[] = [];
  for (const line of peeled.split('\n')) {
    const [type, oid, ref] = line.split(' ');
    if (type === 'blob') out.push({ oid, name: ref });
    if (type === 'tree') {
      const listing = await runGit(repo, ['ls-tree', '-r', '-z', '--full-tree', oid]);
      for (const entry of parseLsTree(listing.toString('utf8'))) out.push({ oid: entry.oid, name: `${ref}:${entry.path}` });
    }
  }
  return out;
}

/** The blob entries of `git ls-tree -r -z` output: `<mode> SP <type> SP <oid> TAB <path>` NUL (git-ls-tree(1)). Pure. */
export function parseLsTree(output: string): Array<{ oid: string; path: string }> {
  const out: Array<{ oid: string; path: string }> = [];
  for (const entry of output.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab === -1) continue;
    const [, type, oid] = entry.slice(0, tab).split(' ');
    if (type === 'blob') out.push({ oid, path: entry.slice(tab + 1) });
  }
  return out;
}

async function runGitWithInput(repo: string, args: readonly string[], input: string): Promise<string> {
  const chunks: Buffer[] = [];
  await streamGit(repo, args, (c) => chunks.push(c), input);
  return Buffer.concat(chunks).toString('utf8');
}
