import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret } from './key-format.js';
import { findKeysInText } from './key-search.js';

const project = () => generateSecret('project', randomBytes);
const admin = () => generateSecret('admin', randomBytes);

describe('findKeysInText', () => {
  it('finds keys back to back, glued to anything, with their kind', () => {
    const [p, a] = [project(), admin()];
    const text = `x${p}${a}-${p}`;
    expect(findKeysInText(text)).toEqual([
      { secret: p, index: 1, kind: 'project' },
      { secret: a, index: 1 + p.length, kind: 'admin' },
      { secret: p, index: 2 + p.length + a.length, kind: 'project' },
    ]);
  });

  it('reads a candidate at every prefix, so a failed look-alike hides nothing that overlaps it', () => {
    const p = project();
    // The look-alike's 46 characters run into the key's own `sk`: read as one candidate, then the key at its prefix.
    expect(findKeysInText(`sk-tg-${'x'.repeat(44)}${p}`).map((k) => k.secret)).toEqual([p]);
    expect(findKeysInText(`sk-tg-admin-${p}`).map((k) => k.secret)).toEqual([p]);
  });

  it('finds nothing in text without a valid key', () => {
    expect(findKeysInText(`sk-tg-${'A'.repeat(46)} sk-tg- sk-tg-admin-`)).toEqual([]);
  });
});
