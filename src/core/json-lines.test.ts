import { describe, expect, it } from 'vitest';
import { lineSplitter, readJsonLine } from './json-lines.js';

const split = (chunks: string[]) => {
  const lines: string[] = [];
  const s = lineSplitter((b) => lines.push(b.toString('utf8')), 64, () => new Error('too long'));
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return lines;
};

describe('lineSplitter', () => {
  it('ends a line at LF, CR and CRLF (one break), across chunks, blank lines counted', () => {
    expect(split(['a\nb\rc\r\nd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(split(['a\r', '\nb\r', 'c\n', '\n', 'd'])).toEqual(['a', 'b', 'c', '', 'd']);
    expect(split(['a\r\r\nb\n'])).toEqual(['a', '', 'b']);
    expect(split(['', 'a', 'b\r', '', '\nc'])).toEqual(['ab', 'c']);
    expect(() => split(['x'.repeat(40), 'y'.repeat(40)])).toThrow('too long');
  });
});

describe('readJsonLine', () => {
  const kind = (text: string | Buffer) => readJsonLine(Buffer.isBuffer(text) ? text : Buffer.from(text)).kind;
  it('reads strict JSON in UTF-8 only, and no character another reader ends a line at', () => {
    expect(kind('{"a":1}')).toBe('json');
    expect(kind('\ufeff {"a":"\\u2028"} \t')).toBe('json');
    expect(kind(' \t')).toBe('blank');
    for (const bad of ['{"a":NaN}', '{"a":-Infinity}', '{"a":1,}', '{"a":"\u2028"}', '{"a":"\u0085"}', '{"a":1}\v', '{"a":"\x1c"}', '{"a":1} // c']) {
      expect(kind(bad), JSON.stringify(bad)).toBe('unreadable');
    }
    expect(kind(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toBe('unreadable');
    expect(readJsonLine(Buffer.from(`${'['.repeat(600)}${']'.repeat(600)}`))).toMatchObject({ kind: 'unreadable', problem: expect.stringMatching(/levels deep/) });
  });
});
