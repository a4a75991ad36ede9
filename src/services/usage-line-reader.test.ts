import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageLineChunks } from './usage-line-reader.js';

async function read(text: string, from: number, maxLines: number, readBytes: number) {
  const file = join(mkdtempSync(join(tmpdir(), 'line-reader-')), 'f.jsonl');
  writeFileSync(file, text);
  const out: Array<{ lines: string[]; end: number }> = [];
  for await (const chunk of usageLineChunks(file, from, maxLines, readBytes)) out.push({ lines: [...chunk.lines], end: chunk.end });
  return out;
}

describe('usageLineChunks', () => {
  it('gives whole lines across reads, at most maxLines a chunk, each with the offset past its last line', async () => {
    const text = 'aaaa\nbb\n\ncccccc\nd\né\n';
    expect(await read(text, 0, 2, 3)).toEqual([
      { lines: ['aaaa', 'bb'], end: 8 },
      { lines: ['cccccc', 'd'], end: 18 },
      { lines: ['é'], end: Buffer.byteLength(text) },
    ]);
  });

  it('starts at an offset, and leaves out a last line with no newline (an append cut short)', async () => {
    expect(await read('aaaa\nbb\ncc\n["torn', 5, 10, 4)).toEqual([{ lines: ['bb', 'cc'], end: 11 }]);
  });

  it('reads a line longer than its buffer', async () => {
    const long = 'x'.repeat(100);
    expect(await read(`${long}\ny\n`, 0, 10, 8)).toEqual([{ lines: [long, 'y'], end: 103 }]);
  });
});
