import { describe, expect, it } from 'vitest';
import { requestIdSource, uuidV7Source } from './ids.js';

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

describe('requestIdSource', () => {
  it("writes each id from 16 fresh random bytes, in OpenAI's form, drawing the pool again when it runs out", () => {
    let draws = 0;
    let counter = 0;
    // A deterministic source: byte k of the stream is k mod 256, so ids are predictable here and checkable.
    const next = requestIdSource((n) => {
      draws++;
      return Uint8Array.from({ length: n }, () => counter++ % 256);
    });
    const ids = Array.from({ length: 600 }, () => next());
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(ids[0]).toBe('req_000102030405060708090a0b0c0d0e0f');
    expect(ids[1]).toBe('req_101112131415161718191a1b1c1d1e1f');
    expect(draws).toBe(3);
  });

  it('makes distinct ids from a real random source', async () => {
    const { randomBytes } = await import('node:crypto');
    const next = requestIdSource((n) => randomBytes(n));
    const ids = Array.from({ length: 10_000 }, () => next());
    expect(new Set(ids).size).toBe(10_000);
  });
});
