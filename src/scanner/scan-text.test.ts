import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { scanText } from './scan-text.js';

const key = () => generateSecret('project', randomBytes);

describe('scanText', () => {
  it('gives 1-based lines and columns for every match', () => {
    const [a, b, c] = [key(), key(), key()];
    const text = `${a}\nline two\r\n\n   x=${b} ${c}\n`;
    expect(scanText(text).map((m) => [m.secret, m.line, m.column])).toEqual([
      [a, 1, 1],
      [b, 4, 6],
      [c, 4, 6 + b.length + 1],
    ]);
  });

  it('counts columns in bytes after a CRLF line end', () => {
    const k = key();
    expect(scanText(`a\r\nbb${k}`)).toMatchObject([{ line: 2, column: 3 }]);
  });

  it('returns nothing for text without secrets', () => {
    expect(scanText('nothing\nto see\n')).toEqual([]);
  });
});
