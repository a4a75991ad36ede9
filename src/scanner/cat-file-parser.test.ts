import { describe, expect, it } from 'vitest';
import { type BatchObject, CatFileBatchParser } from './cat-file-parser.js';

const OID_A = 'a'.repeat(40);
const OID_B = 'b'.repeat(40);
const OID_C = 'c'.repeat(40);

function object(oid: string, type: string, content: Buffer | string): Buffer {
  const body = Buffer.from(content);
  return Buffer.concat([Buffer.from(`${oid} ${type} ${body.length}\n`), body, Buffer.from('\n')]);
}

const STREAM = Buffer.concat([
  object(OID_A, 'blob', 'hello\nworld'),
  Buffer.from(`${'d'.repeat(40)} missing\n`),
  object(OID_B, 'blob', Buffer.from([0, 10, 255, 10, 0])),
  object(OID_C, 'blob', 'x'.repeat(100)),
  object(OID_A, 'tree', ''),
]);

function parse(chunks: Buffer[], maxSize: number): Array<Omit<BatchObject, 'content'> & { content: string | null }> {
  const parser = new CatFileBatchParser(maxSize);
  const out = chunks.flatMap((c) => parser.push(c));
  parser.end();
  return out.map((o) => ({ ...o, content: o.content?.toString('latin1') ?? null }));
}

const EXPECTED = [
  { oid: OID_A, type: 'blob', size: 11, content: 'hello\nworld' },
  { oid: OID_B, type: 'blob', size: 5, content: '\x00\n\xff\n\x00' },
  { oid: OID_C, type: 'blob', size: 100, content: null },
  { oid: OID_A, type: 'tree', size: 0, content: '' },
];

describe('CatFileBatchParser', () => {
  it('parses a whole stream, skipping missing objects and the bodies of objects over the limit', () => {
    expect(parse([STREAM], 50)).toEqual(EXPECTED);
  });

  it('gives the same result however the stream is split (here: one byte at a time)', () => {
    const bytes = [...STREAM].map((b) => Buffer.from([b]));
    expect(parse(bytes, 50)).toEqual(EXPECTED);
  });

  it('gives the same result for chunks that split headers and bodies at odd places', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < STREAM.length; i += 7) chunks.push(STREAM.subarray(i, i + 7));
    expect(parse(chunks, 50)).toEqual(EXPECTED);
  });

  it('keeps an object exactly at the limit', () => {
    expect(parse([STREAM], 100)[2]).toEqual({ oid: OID_C, type: 'blob', size: 100, content: 'x'.repeat(100) });
  });

  it('complains when the stream stops inside an object', () => {
    const parser = new CatFileBatchParser(50);
    parser.push(STREAM.subarray(0, 50));
    expect(() => parser.end()).toThrow(/middle of an object/);
  });

  it('rejects output it does not understand', () => {
    expect(() => new CatFileBatchParser(50).push(Buffer.from('fatal: not a git repository\n'))).toThrow(/unexpected git cat-file output/);
  });
});
