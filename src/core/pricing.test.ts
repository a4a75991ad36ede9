import { describe, expect, it } from 'vitest';
import { boundCostNanoUsd, costLineItems, costNanoUsd, DEFAULT_PRICES, isFreeOfCharge, nanoToUsdText6, priceFor, snapshotBase, speedMultiple, tierRates } from './pricing.js';

describe('pricing', () => {
  it('finds exact names and dated snapshots of them', () => {
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o')?.input).toBe(2.5);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-2024-08-06')?.input).toBe(2.5);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-mini-2024-07-18')?.input).toBe(0.15);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4-0613')?.input).toBe(30);
    expect(priceFor(DEFAULT_PRICES, 'gpt-4-32k-0613')?.input).toBe(60);
    expect(priceFor(DEFAULT_PRICES, 'o1-pro-2025-03-19')?.input).toBe(150);
    expect(priceFor(DEFAULT_PRICES, 'unknown-model')).toBeNull();
  });

  it('prefers a snapshot priced apart over its base model', () => {
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-2024-05-13')).toEqual({ input: 5, output: 15, priority: { input: 8.75, output: 26.25 } });
    expect(priceFor(DEFAULT_PRICES, 'gpt-3.5-turbo-1106')?.input).toBe(1);
    // The first audio snapshot's audio costs 2.5 times its base's later rates.
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-audio-preview-2024-10-01')).toMatchObject({ audio_input: 100, audio_output: 200 });
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-audio-preview-2024-12-17')).toMatchObject({ audio_input: 40, audio_output: 80 });
  });

  it('never prices a model as a shorter model that happens to be its prefix', () => {
    expect(priceFor(DEFAULT_PRICES, 'o1-pro')).toEqual({ input: 150, output: 600 });
    expect(priceFor(DEFAULT_PRICES, 'o3-pro')).toEqual({ input: 20, output: 80 });
    expect(priceFor(DEFAULT_PRICES, 'gpt-4o-mini')?.input).toBe(0.15);
    expect(priceFor({ o1: { input: 15 } }, 'o1-pro')).toBeNull();
    expect(priceFor({ 'gpt-4o': { input: 2.5 } }, 'gpt-4o-mini')).toBeNull();
    expect(priceFor({ 'gpt-4o': { input: 2.5 } }, 'gpt-4o-mini-2024-07-18')).toBeNull();
    expect(priceFor({ 'gpt-4': { input: 30 } }, 'gpt-4-32k')).toBeNull();
    expect(priceFor({ 'gpt-4': { input: 30 } }, 'gpt-4-turbo-2024-04-09')).toBeNull();
    // Not a table's own inherited keys either.
    expect(priceFor(DEFAULT_PRICES, 'constructor')).toBeNull();
    expect(priceFor(DEFAULT_PRICES, '__proto__')).toBeNull();
  });

  it('reads dated snapshots as OpenAI names them, and nothing else', () => {
    expect(snapshotBase('gpt-4o-2024-08-06')).toBe('gpt-4o');
    expect(snapshotBase('gpt-3.5-turbo-0125')).toBe('gpt-3.5-turbo');
    expect(snapshotBase('gpt-5.4-mini-2026-03-17')).toBe('gpt-5.4-mini');
    expect(snapshotBase('tts-1-hd-1106')).toBe('tts-1-hd');
    expect(snapshotBase('gpt-4o')).toBeNull();
    expect(snapshotBase('o1-pro')).toBeNull();
    expect(snapshotBase('gpt-4-32k')).toBeNull();
    expect(snapshotBase('gpt-4o-2024-13-01')).toBeNull();
    expect(snapshotBase('gpt-4o-9999')).toBeNull();
    expect(snapshotBase('gpt-4o-2024-08')).toBeNull();
    expect(snapshotBase('2024-08-06')).toBeNull();
    expect(snapshotBase('davinci-002')).toBeNull();
  });

  it('prices the models the table used to miss', () => {
    for (const m of ['gpt-4', 'gpt-4-32k', 'chatgpt-4o-latest', 'gpt-4.5-preview', 'o1-pro', 'o3-pro', 'o3-mini', 'o1-mini', 'gpt-4.1-nano', 'gpt-5-pro', 'gpt-5.5-pro']) {
      expect(priceFor(DEFAULT_PRICES, m)?.input, m).toBeGreaterThan(0);
    }
  });

  it('computes cost in exact nano-dollars with cached input', () => {
    // 1,000 input (200 cached) and 500 output tokens of gpt-4o: 800*2500 + 200*1250 + 500*10000
    expect(costNanoUsd(DEFAULT_PRICES['gpt-4o'], { input: 1000, cached: 200, output: 500 })).toBe(800 * 2500 + 200 * 1250 + 500 * 10000);
    expect(costNanoUsd(DEFAULT_PRICES['text-embedding-3-small'], { input: 1_000_000, cached: 0, output: 0 })).toBe(20_000_000);
    expect(costNanoUsd(null, { input: 10, cached: 0, output: 10 })).toBe(0);
    // o1-pro priced as itself: 1M output tokens are $600, not o1's $60.
    expect(costNanoUsd(priceFor(DEFAULT_PRICES, 'o1-pro'), { input: 0, cached: 0, output: 1_000_000 })).toBe(600e9);
  });

  it('prices every token of a long-context request at the long-context rates', () => {
    const p = DEFAULT_PRICES['gpt-5.4'];
    expect(costNanoUsd(p, { input: 272_000, cached: 0, output: 1000 })).toBe(272_000 * 2500 + 1000 * 15_000);
    expect(costNanoUsd(p, { input: 272_001, cached: 1, output: 1000 })).toBe(272_000 * 5000 + 1 * 500 + 1000 * 22_500);
  });

  it('bills audio and image tokens at their own rates, within the totals', () => {
    const audio = DEFAULT_PRICES['gpt-4o-audio-preview'];
    // 100 input of which 40 audio, 50 output of which 30 audio.
    expect(costNanoUsd(audio, { input: 100, cached: 0, output: 50, audioInput: 40, audioOutput: 30 })).toBe(60 * 2500 + 40 * 40_000 + 20 * 10_000 + 30 * 80_000);
    // Details larger than their totals are clamped: never a negative part.
    expect(costNanoUsd(audio, { input: 10, cached: 0, output: 0, audioInput: 40 })).toBe(10 * 40_000);
    const image = DEFAULT_PRICES['gpt-image-1'];
    // GPT Image 1: text and image input, every output token an image token.
    expect(costNanoUsd(image, { input: 150, cached: 0, output: 4160, imageInput: 100 })).toBe(50 * 5000 + 100 * 10_000 + 4160 * 40_000);
  });

  it("prices Claude models, dated ids by their base id, with cache reads and 5-minute and 1-hour cache writes", () => {
    expect(snapshotBase('claude-sonnet-4-5-20250929')).toBe('claude-sonnet-4-5');
    expect(snapshotBase('claude-opus-4-20250514')).toBe('claude-opus-4');
    expect(snapshotBase('claude-sonnet-4-5-20251399')).toBeNull();
    expect(priceFor(DEFAULT_PRICES, 'claude-haiku-4-5-20251001')?.input).toBe(1);
    expect(priceFor(DEFAULT_PRICES, 'claude-opus-4-5-20251101')?.output).toBe(25);
    // Opus 4.1 is not Opus 4.6's price, nor Sonnet 5.5 Sonnet 5's.
    expect(priceFor(DEFAULT_PRICES, 'claude-opus-4-1')?.input).toBe(15);
    expect(priceFor(DEFAULT_PRICES, 'claude-sonnet-5-5')?.cached_input).toBe(0.1);
    expect(priceFor(DEFAULT_PRICES, 'claude-sonnet-5')?.cached_input).toBe(0.2);
    const sonnet = DEFAULT_PRICES['claude-sonnet-4-6'];
    // 100 fresh input, 1,000 cache reads, 2,000 5-minute and 400 1-hour cache writes, 50 output ($3, $0.30, $3.75, $6, $15).
    const tokens = { input: 100 + 1000 + 2000 + 400, cached: 1000, cacheWrite: 2000, cacheWrite1h: 400, output: 50 };
    expect(costNanoUsd(sonnet, tokens)).toBe(100 * 3000 + 1000 * 300 + 2000 * 3750 + 400 * 6000 + 50 * 15_000);
    // Without a 1-hour rate the 5-minute one applies; without either, the input rate.
    expect(costNanoUsd({ input: 3, cache_write_input: 3.75, output: 15 }, tokens)).toBe(100 * 3000 + 1000 * 3000 + 2400 * 3750 + 50 * 15_000);
    expect(costNanoUsd({ input: 3, output: 15 }, tokens)).toBe(3500 * 3000 + 50 * 15_000);
    // Haiku 5.5 above 100K input (cache reads and writes counted): every token at the long-prompt rates.
    const haiku = DEFAULT_PRICES['claude-haiku-5-5'];
    expect(costNanoUsd(haiku, { input: 100_000, cached: 0, output: 10 })).toBe(100_000 * 100 + 10 * 500);
    expect(costNanoUsd(haiku, { input: 100_001, cached: 50_000, cacheWrite: 50_000, output: 10 })).toBe(1 * 500 + 50_000 * 50 + 50_000 * 625 + 10 * 2500);
  });
});

describe('service tiers', () => {
  it('bills priority (and fast, which OpenAI runs as priority) and flex at their own rates; every other tier at the standard ones', () => {
    const gpt5 = DEFAULT_PRICES['gpt-5'];
    const tokens = { input: 1000, cached: 200, output: 500 };
    const standard = 800 * 1250 + 200 * 125 + 500 * 10_000;
    // gpt-5: priority $2.50 / $0.25 / $20, flex $0.625 / $0.0625 / $5 per 1M.
    expect(costNanoUsd(gpt5, tokens, 'priority')).toBe(2 * standard);
    expect(costNanoUsd(gpt5, tokens, 'fast')).toBe(2 * standard);
    expect(costNanoUsd(gpt5, tokens, 'flex')).toBe(standard / 2);
    for (const tier of [null, 'default', 'auto', 'scale', 'ultrafast', 'batch', 'PRIORITY', 'Priority', 'priority ']) {
      expect(costNanoUsd(gpt5, tokens, tier), String(tier)).toBe(standard);
    }
    // A tier the model has no rates for: the standard rates (whether it may be sent at all is metering-plan's call).
    expect(tierRates(DEFAULT_PRICES['gpt-5-pro'], 'priority')).toBeNull();
    expect(costNanoUsd(DEFAULT_PRICES['gpt-5-pro'], tokens, 'priority')).toBe(costNanoUsd(DEFAULT_PRICES['gpt-5-pro'], tokens));
  });

  it('bills fractions of a nano-dollar per token as priced, rounding the request once', () => {
    // gpt-5-nano's flex cached input is $0.0025 per 1M: 2.5 nano-dollars a token, not 3.
    expect(costNanoUsd(DEFAULT_PRICES['gpt-5-nano'], { input: 1_000_000, cached: 1_000_000, output: 0 }, 'flex')).toBe(2_500_000);
    expect(costNanoUsd(DEFAULT_PRICES['gpt-5-nano'], { input: 2, cached: 2, output: 0 }, 'flex')).toBe(5);
    // gpt-5.4-mini's, $0.0375: 37.5 a token; three tokens are 112.5, rounded once to 113.
    expect(costNanoUsd(DEFAULT_PRICES['gpt-5.4-mini'], { input: 1_000_000, cached: 1_000_000, output: 0 }, 'flex')).toBe(37_500_000);
    expect(costNanoUsd(DEFAULT_PRICES['gpt-5.4-mini'], { input: 3, cached: 3, output: 0 }, 'flex')).toBe(113);
  });

  it('takes the dearer of the tier and the long-context rates for a long request, unless the tier has long-context rates of its own', () => {
    const p = DEFAULT_PRICES['gpt-5.4'];
    const long = { input: 300_000, cached: 0, output: 1000 };
    // Priority $5 / $30 against long-context $5 / $22.50; flex $1.25 / $7.50 against the same.
    expect(costNanoUsd(p, long, 'priority')).toBe(300_000 * 5000 + 1000 * 30_000);
    expect(costNanoUsd(p, long, 'flex')).toBe(300_000 * 5000 + 1000 * 22_500);
    expect(costNanoUsd(p, { input: 1000, cached: 0, output: 1000 }, 'flex')).toBe(1000 * 1250 + 1000 * 7500);
    const own = { ...p, flex: { input: 1.25, output: 7.5, long_context: { above_input_tokens: 272_000, input: 2.5 } } };
    expect(costNanoUsd(own, long, 'flex')).toBe(300_000 * 2500 + 1000 * 7500);
  });

  it('bills cache writes under a tier at its input rate, and audio tokens at the model\'s own audio rates', () => {
    const price = { input: 1, output: 2, cache_write_input: 1.25, audio_input: 40, priority: { input: 2, output: 4 } };
    expect(costNanoUsd(price, { input: 100, cached: 0, cacheWrite: 100, output: 0 }, 'priority')).toBe(100 * 2000);
    expect(costNanoUsd(price, { input: 100, cached: 0, audioInput: 100, output: 0 }, 'priority')).toBe(100 * 40_000);
  });

  it("reserves output at the dearest rate the model bills it at (audio or image output), not its text rate", () => {
    const audio = DEFAULT_PRICES['gpt-4o-audio-preview'];
    // 12,500 output tokens: $0.125 as text at $10 per million, $1 as audio at $80.
    expect(boundCostNanoUsd(audio, { input: 0, output: 12_500, cacheWrites: false })).toBe(12_500 * 80_000);
    expect(boundCostNanoUsd({ input: 1, output: 2, image_output: 40 }, { input: 10, output: 100, cacheWrites: false })).toBe(10 * 1000 + 100 * 40_000);
    // With cache writes too: the dearest input and the dearest output together.
    expect(boundCostNanoUsd({ input: 1, output: 2, cache_write_input: 2, audio_output: 8 }, { input: 10, output: 100, cacheWrites: true })).toBe(10 * 2000 + 100 * 8000);
    // Input by reference (a spoken answer handed back by id) at the dearest input rate the model has.
    const mini = DEFAULT_PRICES['gpt-4o-mini-audio-preview'];
    expect(boundCostNanoUsd(mini, { input: 120_000, output: 16, cacheWrites: false, byReference: true })).toBe(120_000 * 10_000 + 16 * 20_000);
    expect(boundCostNanoUsd(mini, { input: 1000, output: 16, cacheWrites: false, byReference: false })).toBe(1000 * 150 + 16 * 20_000);
    // A model without such rates: as before.
    expect(boundCostNanoUsd({ input: 1, output: 2 }, { input: 10, output: 100, cacheWrites: false })).toBe(10 * 1000 + 100 * 2000);
  });

  it('reserves at the rates of the tier asked for', () => {
    const gpt5 = DEFAULT_PRICES['gpt-5'];
    expect(boundCostNanoUsd(gpt5, { input: 1000, output: 1000, cacheWrites: false }, 'priority')).toBe(1000 * 2500 + 1000 * 20_000);
    expect(boundCostNanoUsd(gpt5, { input: 1000, output: 1000, cacheWrites: true }, 'flex')).toBe(1000 * 625 + 1000 * 5000);
  });
});

describe("Anthropic's fast mode", () => {
  it('prices the models Anthropic publishes fast rates for: 6× for Opus 4.6 and 4.7, 2× for Opus 4.8 and 5; no others', () => {
    const tokens = { input: 1_000_000, cached: 0, output: 1_000_000 };
    // $30/$150 and $10/$50 per MTok (platform.claude.com, fast mode, "Pricing").
    for (const model of ['claude-opus-4-6', 'claude-opus-4-7', 'claude-opus-4-6-20260205']) {
      expect(costNanoUsd(priceFor(DEFAULT_PRICES, model), tokens, null, 'fast'), model).toBe(30e9 + 150e9);
    }
    for (const model of ['claude-opus-4-8', 'claude-opus-5']) expect(costNanoUsd(priceFor(DEFAULT_PRICES, model), tokens, null, 'fast'), model).toBe(10e9 + 50e9);
    // Models Anthropic gives no fast rate for (or that have no fast mode) carry none: metering-plan refuses them.
    for (const model of ['claude-opus-5-5', 'claude-fable-5-2', 'claude-mythos-5-2', 'claude-sonnet-4-6', 'claude-opus-4-5', 'claude-haiku-4-5']) {
      expect(DEFAULT_PRICES[model].fast, model).toBeUndefined();
    }
  });

  it("stacks the caching multipliers on the fast rates: cache reads 0.1×, writes 1.25× and 2× of the fast input rate", () => {
    const opus = DEFAULT_PRICES['claude-opus-4-6'];
    // 1,000 input tokens of which 100 read from the cache, 200 written for 5 minutes, 300 for an hour; 50 output.
    const tokens = { input: 1000, cached: 100, cacheWrite: 200, cacheWrite1h: 300, output: 50 };
    // Fast input $30/M: reads $3, 5-minute writes $37.50, 1-hour writes $60; output $150.
    expect(costNanoUsd(opus, tokens, null, 'fast')).toBe(400 * 30_000 + 100 * 3000 + 200 * 37_500 + 300 * 60_000 + 50 * 150_000);
    expect(costNanoUsd(opus, tokens, null, 'fast')).toBe(6 * costNanoUsd(opus, tokens));
  });

  it('bills every other speed, and a model without fast rates, at the standard rates', () => {
    const opus = DEFAULT_PRICES['claude-opus-4-8'];
    const tokens = { input: 1000, cached: 0, output: 100 };
    const standard = costNanoUsd(opus, tokens);
    for (const speed of [null, 'standard', 'FAST', 'Fast', 'fast ', 'turbo']) expect(costNanoUsd(opus, tokens, null, speed), String(speed)).toBe(standard);
    expect(speedMultiple(DEFAULT_PRICES['claude-opus-5-5'], 'fast')).toBe(1);
    expect(costNanoUsd(DEFAULT_PRICES['claude-opus-5-5'], tokens, null, 'fast')).toBe(costNanoUsd(DEFAULT_PRICES['claude-opus-5-5'], tokens));
  });

  it('multiplies the long-context rates too, and rounds the request once', () => {
    // A configured model with a long-context tier and a fractional multiple: Anthropic's fast mode has one price
    // across the whole context window, the multiple of whichever rate applies.
    const price = { input: 3, output: 15, fast: 1.1, long_context: { above_input_tokens: 200_000, input: 6, output: 22.5 } };
    expect(costNanoUsd(price, { input: 300_000, cached: 0, output: 10 }, null, 'fast')).toBe(Math.round(1.1 * (300_000 * 6000 + 10 * 22_500)));
    expect(costNanoUsd({ input: 0.001, output: 0, fast: 1.5 }, { input: 1, cached: 0, output: 0 }, null, 'fast')).toBe(2);
  });

  it('reserves at the fast rates, cache writes included', () => {
    const opus = DEFAULT_PRICES['claude-opus-4-6'];
    expect(boundCostNanoUsd(opus, { input: 1000, output: 100, cacheWrites: false }, null, 'fast')).toBe(1000 * 30_000 + 100 * 150_000);
    expect(boundCostNanoUsd(opus, { input: 1000, output: 100, cacheWrites: true }, null, 'fast')).toBe(1000 * 60_000 + 100 * 150_000);
  });
});

describe('boundCostNanoUsd', () => {
  it('prices a bound that may be written to the cache at the dearest of the input and cache-write rates', () => {
    const sonnet = priceFor(DEFAULT_PRICES, 'claude-sonnet-4-5');
    // 1,000 input tokens at $3/M, 10 output at $15/M; written for an hour at $6/M.
    expect(boundCostNanoUsd(sonnet, { input: 1000, output: 10, cacheWrites: false })).toBe(3_000_000 + 150_000);
    expect(boundCostNanoUsd(sonnet, { input: 1000, output: 10, cacheWrites: true })).toBe(6_000_000 + 150_000);
    // A configured price whose 5-minute writes are the dearest, and one without write rates (OpenAI's): input.
    expect(boundCostNanoUsd({ input: 1, cache_write_input: 4, cache_write_1h_input: 2, output: 1 }, { input: 1000, output: 0, cacheWrites: true })).toBe(4_000_000);
    expect(boundCostNanoUsd({ input: 1, output: 1 }, { input: 1000, output: 0, cacheWrites: true })).toBe(1_000_000);
  });
});

describe('nanoToUsdText6', () => {
  it('writes the same text as (nano / 1e9).toFixed(6), for every magnitude, near and at the halfway cases', () => {
    const values = [0, 1, 499, 500, 501, 999, 1000, 1499, 1500, 1501, 99_999_999, 100_000_000, 999_999_499, 999_999_500, 999_999_501];
    values.push(5_000_000_000, 123_456_789_012, 1e15 - 1, 1e15, 1e15 + 1, 2 ** 53 + 2, 1.5, 0.25, -1, -500, -1_000_000_000);
    // A fixed sequence of pseudo-random amounts, from nano-dollars to millions of dollars.
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      values.push(Math.floor((seed / 2 ** 31) * 10 ** (i % 16)));
    }
    for (const v of values) expect(nanoToUsdText6(v), String(v)).toBe((v / 1e9).toFixed(6));
  });
});

describe('costLineItems', () => {
  it("splits a request's cost into input, cached input and output at each part's own rate, adding up to the cost exactly", () => {
    const sonnet = DEFAULT_PRICES['claude-sonnet-4-6'];
    // 100 input, 10,000 written to the cache (5 minutes), 100 output: output $0.0015 at $15/M (it showed $0.00185 when
    // the cache writes' surcharge was shared in proportion).
    const tokens = { input: 10_100, cached: 0, output: 100, cacheWrite: 10_000 };
    const [input, cached, output] = costLineItems(sonnet, tokens);
    expect(output).toBe(1_500_000);
    expect(cached).toBe(0);
    expect(input + cached + output).toBe(costNanoUsd(sonnet, tokens));
    const cases: Array<[string, Parameters<typeof costNanoUsd>[1], string | null]> = [
      ['gpt-4o', { input: 1_000, cached: 400, output: 333 }, null],
      ['gpt-4o', { input: 1_000, cached: 400, output: 333 }, 'priority'],
      ['gpt-4o-audio-preview', { input: 100, cached: 20, output: 50, audioInput: 30, audioOutput: 10 }, null],
      ['claude-sonnet-4-6', { input: 7, cached: 3, output: 1, cacheWrite1h: 2 }, null],
      ['gpt-5', { input: 123_457, cached: 99_999, output: 7 }, 'flex'],
    ];
    for (const [model, counts, tier] of cases) {
      const price = DEFAULT_PRICES[model];
      const lines = costLineItems(price, counts, tier);
      expect(lines.reduce((a, b) => a + b, 0), `${model} ${tier}`).toBe(costNanoUsd(price, counts, tier));
      expect(lines.every((n) => n >= 0), `${model} ${tier}`).toBe(true);
    }
    expect(costLineItems(null, { input: 5, cached: 0, output: 5 })).toEqual([0, 0, 0]);
  });
});

describe('isFreeOfCharge', () => {
  it('is a price of nothing at every rate: a rate anywhere, a tier or long context included, makes it not free', () => {
    expect(isFreeOfCharge({ input: 0, output: 0 })).toBe(true);
    expect(isFreeOfCharge({ input: 0, output: 0, max_output_tokens: 4096 })).toBe(true);
    expect(isFreeOfCharge({ input: 0, output: 0, cached_input: 0.1 })).toBe(false);
    expect(isFreeOfCharge({ input: 0, output: 0, priority: { input: 1, output: 0 } } as never)).toBe(false);
    expect(isFreeOfCharge(null)).toBe(false);
  });
});
