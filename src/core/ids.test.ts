import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uuidV7 } from './ids.js';

describe('uuidV7', () => {
  it('is a version-7 UUID carrying the time, ordered by it', () => {
    const a = uuidV7(1_764_000_000_000, randomUUID());
    const b = uuidV7(1_764_000_000_001, randomUUID());
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(a.replace('-', '').slice(0, 12), 16)).toBe(1_764_000_000_000);
    expect(a < b).toBe(true);
    expect(uuidV7(5, randomUUID()).slice(0, 13)).toBe('00000000-0005');
  });
});
