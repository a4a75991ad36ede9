import { runGit } from './git-process.js';

// What a repository holds beyond what `git log --all` walks: every commit in its object store (commits
// kept only by a reflog, older stashes, dropped stashes, amended-away commits).

/** Every commit and blob id in the object store, reachable or not (git-cat-file(1), --batch-all-objects). */
export interface StoredObjects {
  commits: string[];
  blobs: string[];
}

// Objects of alternates (objects/info/alternates) are included: they are readable through this repository.
const LIST_ARGS = ['cat-file', '--batch-all-objects', '--unordered', '--batch-check=%(objecttype) %(objectname)'];

/** Lists the ids of every commit and blob in the repository's object store. */
export async function listStoredObjects(repo: string): Promise<StoredObjects> {
  const out: StoredObjects = { commits: [], blobs: [] };
  for (const line of (await runGit(repo, LIST_ARGS)).toString('latin1').split('\n')) {
    const [type, oid] = line.split(' ');
    if (type === 'commit') out.commits.push(oid);
    else if (type === 'blob') out.blobs.push(oid);
  }
  return out;
}
