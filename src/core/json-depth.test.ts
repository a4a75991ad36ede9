import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

const nested = (d: number, open = '[', close = ']') => open.repeat(d) + close.repeat(d);

describe('exceedsJsonDepth', () => {
  it('finds nesting past the bound, of arrays, objects or both', () => {
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    const objects = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(exceedsJsonDepth(objects)).toBe(true);
    const mixed = `${'{"a":['.repeat(300)}1${']}'.repeat(300)}`;
    expect(exceedsJsonDepth(mixed)).toBe(true);
    expect(exceedsJsonDepth(`{"model":"m","x":${nested(100_000)}}`)).toBe(true);
  });

  it('counts depth, not brackets: many shallow ones are fine', () => {
    const wide = JSON.stringify({ messages: Array.from({ length: 5000 }, (_, i) => ({ role: 'user', content: [{ type: 'text', text: `m${i}` }] })) });
    expect(exceedsJsonDepth(wide)).toBe(false);
  });

  it('brackets inside strings, escaped quotes included, are text', () => {
    const inString = JSON.stringify({ content: nested(5000) });
    expect(exceedsJsonDepth(inString)).toBe(false);
    const escaped = JSON.stringify({ content: `\\"${nested(5000)}`, more: `"${'['.repeat(2000)}` });
    expect(exceedsJsonDepth(escaped)).toBe(false);
  });
});
