import type { Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Finding, type ScanSummary, nameFinding } from './findings.js';
import { scanContent } from './content.js';
import { secretsInPath } from './names.js';
import { findSecrets } from './patterns.js';
import { overLimitNote } from './size.js';

/** Directories never worth scanning: history has its own mode (--git), dependencies are not ours. */
export const DEFAULT_SKIP_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules']);

/** A file's bytes, or its size when it is over the limit (so it is never read). */
export type ReadResult = { data: Buffer } | { tooBig: number };

export type ReadFileLimited = (path: string, maxBytes: number) => Promise<ReadResult>;

export interface FileScanOptions {
  maxFileSize: number;
  skipDirs?: ReadonlySet<string>;
  /** Replaces the file reader (tests use it to fail a read). */
  readFile?: ReadFileLimited;
  onProgress?: (summary: ScanSummary) => void;
}

export interface ScanOutcome {
  findings: Finding[];
  summary: ScanSummary;
  /** Things the user should know were not scanned (too big, unreadable), one line each. */
  notes: string[];
}

// Reads overlap with scanning the previous file; more in flight only costs memory (up to the size limit each).
const READ_CONCURRENCY = 4;

/** Reads a whole file unless it is larger than maxBytes; a size check on the open handle avoids a race. */
export const readFileLimited: ReadFileLimited = async (path, maxBytes) => {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return { tooBig: size };
    return { data: await handle.readFile() };
  } finally {
    await handle.close();
  }
};

/**
 * Lists regular files under the roots, depth first, without following symlinks inside directories. `onEntry` sees every
 * entry of every directory listed (files, directories, symlinks…) with its path and own name.
 */
export async function* listFiles(
  roots: readonly string[],
  skipDirs: ReadonlySet<string>,
  onEntry: (path: string, name: string) => void = () => {},
): AsyncGenerator<string> {
  for (const root of roots) {
    // A root named on the command line is followed even if it is a symlink: the user asked for it.
    const info = await stat(root);
    if (info.isFile()) yield root;
    else if (info.isDirectory()) yield* listDir(root, skipDirs, onEntry);
  }
}

async function* listDir(dir: string, skipDirs: ReadonlySet<string>, onEntry: (path: string, name: string) => void): AsyncGenerator<string> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    onEntry(path, entry.name);
    // Symlinks could loop or leave the tree; FIFOs and devices would block or never end.
    if (entry.isFile()) yield path;
    else if (entry.isDirectory() && !skipDirs.has(entry.name)) yield* listDir(path, skipDirs, onEntry);
  }
}

/** Scans files and directories (recursively) for secrets. */
export async function scanPaths(roots: readonly string[], options: FileScanOptions): Promise<ScanOutcome> {
  const read = options.readFile ?? readFileLimited;
  const findings: Finding[] = [];
  // Names are scanned too: each root as given, then each entry's own name once (a key in a directory's name is one
  // finding, not one per file under it).
  for (const root of roots) for (const { match, location } of secretsInPath(root)) findings.push(nameFinding(match, location, null));
  const files = listFiles(roots, options.skipDirs ?? DEFAULT_SKIP_DIRS, (path, name) => {
    for (const match of findSecrets(name)) findings.push(nameFinding(match, path, null));
  });
  const notes: string[] = [];
  const summary: ScanSummary = { files: 0, bytes: 0, commits: 0 };

  const scanOne = async (path: string): Promise<void> => {
    let result: ReadResult;
    try {
      result = await read(path, options.maxFileSize);
    } catch (err) {
      notes.push(`skipped ${path}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if ('tooBig' in result) {
      notes.push(overLimitNote(path, result.tooBig, options.maxFileSize));
      return;
    }
    const content = scanContent(result.data, path, options.maxFileSize);
    for (const m of content.matches) {
      const file = m.inside === null ? path : `${path}!/${m.inside}`;
      findings.push({ type: m.type, secondary: m.secondary, secret: m.secret, kind: m.kind, file, line: m.line, column: m.column, commit: null, ...(m.inName ? { inName: true } : {}) });
    }
    notes.push(...content.notes);
    summary.files++;
    summary.bytes += result.data.length;
    options.onProgress?.(summary);
  };

  const worker = async (): Promise<void> => {
    for (let next = await files.next(); !next.done; next = await files.next()) await scanOne(next.value);
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return { findings, summary, notes };
}
