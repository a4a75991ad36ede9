import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import type { ScanSummary } from './findings.js';
import { readFileLimited, scanPaths } from './walk.js';

const key = () => generateSecret('project', randomBytes);
const MB = 1024 * 1024;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-walk-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, content: string | Buffer): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

describe('scanPaths', () => {
  it('finds keys in UTF-16 files (PowerShell 5\'s `>`) and gzip files, and notes a gzip that expands past the limit', async () => {
    const [a, b] = [key(), key()];
    await put('ps.env', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`A=1\r\nKEY=${a}\r\n`, 'utf16le')]));
    await put('logs/app.log.gz', gzipSync(`start\n${b}\n`));
    await put('bomb.gz', gzipSync(Buffer.alloc(3 * MB)));
    const out = await scanPaths([dir], { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.line, f.column, f.secret]).sort()).toEqual(
      [
        [join(dir, 'logs/app.log.gz!/app.log'), 2, 1, b],
        [join(dir, 'ps.env'), 2, 5, a],
      ].sort(),
    );
    expect(out.notes).toEqual([`not scanned: ${join(dir, 'bomb.gz')}: decompressed, it would pass the 1 MB limit (--max-file-size) that all the content of one file shares`]);
  });

  it('finds keys in nested directories with file, line and column, and counts what it read', async () => {
    const [a, b] = [key(), key()];
    const top = `X=1\nKEY=${a}\n`;
    const deep = `{"k": "${b}"}`;
    await put('top.env', top);
    await put('deep/er/still/config.json', deep);
    const out = await scanPaths([dir], { maxFileSize: MB });
    expect(out.findings.map((f) => [f.file, f.line, f.column, f.secret]).sort()).toEqual(
      [
        [join(dir, 'deep/er/still/config.json'), 1, 8, b],
        [join(dir, 'top.env'), 2, 5, a],
      ].sort(),
    );
    expect(out.summary).toEqual({ files: 2, bytes: top.length + deep.length, commits: 0 });
    expect(out.notes).toEqual([]);
  });

  it('skips .git and node_modules directories, but scans such a file when named directly', async () => {
    const k = key();
    await put('.git/config', k);
    const nm = await put('node_modules/pkg/index.js', k);
    await put('src/node_modules.txt', 'clean');
    expect((await scanPaths([dir], { maxFileSize: MB })).findings).toEqual([]);
    expect((await scanPaths([nm], { maxFileSize: MB })).findings.map((f) => f.file)).toEqual([nm]);
  });

  it('finds a key inside a binary file with NUL bytes', async () => {
    const k = key();
    await put('blob.bin', Buffer.concat([Buffer.from([0, 0, 1, 255, 10]), Buffer.from(k), Buffer.from([0])]));
    expect((await scanPaths([dir], { maxFileSize: MB })).findings).toMatchObject([{ line: 2, column: 1, secret: k }]);
  });

  it('skips files over the size limit with a note, and scans one exactly at the limit', async () => {
    const k = key();
    await put('big.txt', `${k}${'x'.repeat(2048 - k.length)}`);
    await put('just-over.txt', `${k}${'x'.repeat(1024 - k.length + 1)}`);
    const exact = await put('exact.txt', `${k}${'x'.repeat(1024 - k.length)}`);
    const out = await scanPaths([dir], { maxFileSize: 1024 });
    expect(out.findings.map((f) => f.file)).toEqual([exact]);
    expect(out.notes.sort()).toEqual([
      `skipped ${join(dir, 'big.txt')}: 2 KB is over the 1 KB limit (--max-file-size)`,
      `skipped ${join(dir, 'just-over.txt')}: 1025 bytes is over the 1024 bytes limit (--max-file-size)`,
    ]);
    expect(out.summary.files).toBe(1);
  });

  it('notes a file it cannot read and goes on with the others', async () => {
    const k = key();
    await put('a.txt', k);
    await put('b.txt', k);
    const out = await scanPaths([dir], {
      maxFileSize: MB,
      readFile: async (path, max) => {
        if (path.endsWith('a.txt')) throw new Error('EACCES: permission denied');
        return readFileLimited(path, max);
      },
    });
    expect(out.findings.map((f) => f.file)).toEqual([join(dir, 'b.txt')]);
    expect(out.notes).toEqual([`skipped ${join(dir, 'a.txt')}: EACCES: permission denied`]);
  });

  it('does not follow symlinks inside directories', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'tollgate-walk-outside-'));
    try {
      await writeFile(join(outside, 'secret.txt'), key());
      await symlink(outside, join(dir, 'linked-dir'));
      await symlink(join(outside, 'secret.txt'), join(dir, 'linked-file'));
      expect((await scanPaths([dir], { maxFileSize: MB })).findings).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('follows a symlink named on the command line', async () => {
    const target = await put('real/secret.txt', key());
    await symlink(target, join(dir, 'link.txt'));
    expect((await scanPaths([join(dir, 'link.txt')], { maxFileSize: MB })).findings.map((f) => f.file)).toEqual([join(dir, 'link.txt')]);
  });

  it('skips FIFOs instead of blocking on them', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await put('ok.txt', key());
    expect((await scanPaths([dir], { maxFileSize: MB })).findings).toHaveLength(1);
  });

  it('reports progress after each file', async () => {
    await put('a.txt', 'aa');
    await put('b.txt', 'bbb');
    const seen: ScanSummary[] = [];
    await scanPaths([dir], { maxFileSize: MB, onProgress: (s) => seen.push({ ...s }) });
    expect(seen.map((s) => s.files)).toEqual([1, 2]);
    expect(seen.at(-1)?.bytes).toBe(5);
  });

  it('rejects a path that does not exist', async () => {
    await expect(scanPaths([join(dir, 'nope')], { maxFileSize: MB })).rejects.toThrow(/ENOENT/);
  });
});
