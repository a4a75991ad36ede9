import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { secretsInPath } from './names.js';

describe('secretsInPath', () => {
  it('locates each secret at the part of the path that holds it', () => {
    const [a, b] = [generateSecret('project', randomBytes), generateSecret('admin', randomBytes)];
    expect(secretsInPath(`src/${a}/cache/x-${b}.json`).map((n) => [n.match.secret, n.location])).toEqual([
      [a, `src/${a}`],
      [b, `src/${a}/cache/x-${b}.json`],
    ]);
    expect(secretsInPath(`C:\\\\keys\\\\${a}\\\\x`).map((n) => n.location)).toEqual([`C:\\\\keys\\\\${a}`]);
    expect(secretsInPath('src/app.ts')).toEqual([]);
  });
});
