import { describe, expect, it } from 'vitest';
import { parseLsTree } from './object-store.js';

describe('parseLsTree', () => {
  it('keeps blob entries with their paths, verbatim (tabs and newlines included), and skips submodules', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const out = [`100644 blob ${a}\tdir/x y.env`, `160000 commit ${'c'.repeat(40)}\tsub`, `100755 blob ${b}\todd\tname\nz`, ''].join('\0');
    expect(parseLsTree(out)).toEqual([
      { oid: a, path: 'dir/x y.env' },
      { oid: b, path: 'odd\tname\nz' },
    ]);
  });

  it('returns nothing for an empty tree', () => {
    expect(parseLsTree('')).toEqual([]);
  });
});
