import { describe, expect, it } from 'vitest';
import { formatBytes, overLimitNote, parseSize } from './size.js';

describe('parseSize', () => {
  it.each([
    ['50MB', 50 * 1024 * 1024],
    ['512 KB', 512 * 1024],
    ['1.5gb', Math.floor(1.5 * 1024 ** 3)],
    ['100B', 100],
    ['4096', 4096],
  ])('parses %s', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'MB', '-1MB', '10 TB', 'ten'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeNull();
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1023, '1023 bytes'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [50 * 1024 * 1024, '50 MB'],
    [3 * 1024 ** 3, '3 GB'],
  ])('formats %d as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('overLimitNote', () => {
  it('names the size and the limit', () => {
    expect(overLimitNote('a.bin', 60 * 1024 * 1024, 50 * 1024 * 1024)).toBe('skipped a.bin: 60 MB is over the 50 MB limit (--max-file-size)');
  });
  it('falls back to byte counts when both would print the same', () => {
    expect(overLimitNote('a.bin', 1025, 1024)).toBe('skipped a.bin: 1025 bytes is over the 1024 bytes limit (--max-file-size)');
  });
});
