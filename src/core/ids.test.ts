import { describe, expect, it } from 'vitest';
import { uuidV7Source } from './ids.js';

describe('uuidV7Source', () => {
  it('makes distinct, well-formed, time-ordered ids', () => {
    let now = 1_764_000_000_000;
    const next = uuidV7Source(() => now, (n) => new Uint8Array(n).fill(0xab));
    const ids = Array.from({ length: 1000 }, () => next());
    now += 1;
    const later = next();
    expect(new Set(ids).size).toBe(1000);
    for (const id of [...ids, later]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(later.replace('-', '').slice(0, 12), 16)).toBe(now);
    expect(ids.every((id) => id < later)).toBe(true);
  });

  it('counts up by one in the last 48 bits, whatever the random start', () => {
    for (const fill of [0x00, 0x5a, 0xff]) {
      const next = uuidV7Source(() => 7, (n) => new Uint8Array(n).fill(fill));
      const counters = Array.from({ length: 5000 }, () => BigInt(`0x${next().slice(-12)}`));
      const start = (BigInt((fill << 16) | (fill << 8) | fill) * 2n ** 24n) % 2n ** 48n;
      for (const [i, c] of counters.entries()) expect(c).toBe((start + BigInt(i) + 1n) % 2n ** 48n);
    }
  });

  it('differs between generators with different random bits', () => {
    const a = uuidV7Source(() => 5, (n) => new Uint8Array(n).fill(1))();
    const b = uuidV7Source(() => 5, (n) => new Uint8Array(n).fill(2))();
    expect(a).not.toBe(b);
  });
});
