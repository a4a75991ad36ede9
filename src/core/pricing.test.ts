import { describe, expect, it } from 'vitest';
import { costNanoUsd, DEFAULT_PRICES, priceFor } from './pricing.js';

describe('pricing', () => {
  it('finds exact names and dated snapshots by longest prefix', () => {
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o')?.input).toBe(2.5);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-2024-08-06')?.input).toBe(2.5);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-mini-2024-07-18')?.input).toBe(0.15);
    expect(priceFor(DEFAULT_PRICES, 'unknown-model')).toBeNull();
  });

  it('computes cost in exact nano-dollars with cached input', () => {
    // 1,000 input (200 cached) and 500 output tokens of gpt-4o: 800*2500 + 200*1250 + 500*10000
    expect(costNanoUsd(DEFAULT_PRICES['gpt-4o'], { input: 1000, cached: 200, output: 500 })).toBe(800 * 2500 + 200 * 1250 + 500 * 10000);
    expect(costNanoUsd(DEFAULT_PRICES['text-embedding-3-small'], { input: 1_000_000, cached: 0, output: 0 })).toBe(20_000_000);
    expect(costNanoUsd(null, { input: 10, cached: 0, output: 10 })).toBe(0);
  });
});
