import { describe, expect, it } from 'vitest';
import { answeredSpeed, speedNamed } from './speed.js';

describe('speed', () => {
  it("reads fast only from Anthropic's own spelling; any other speed a usage names is the standard one", () => {
    expect(answeredSpeed({ input_tokens: 1, output_tokens: 2, speed: 'fast' })).toBe('fast');
    for (const speed of ['standard', 'FAST', 'Fast', ' fast', null, 1, true, ['fast']]) {
      expect(answeredSpeed({ input_tokens: 1, speed }), JSON.stringify(speed)).toBe('standard');
      expect(speedNamed({ speed }), JSON.stringify(speed)).toBe('standard');
    }
  });

  it('takes a usage without a speed for the standard one, and no usage for no answer at all', () => {
    expect(answeredSpeed({ input_tokens: 1, output_tokens: 2 })).toBe('standard');
    expect(speedNamed({ input_tokens: 1, output_tokens: 2 })).toBeNull();
    for (const usage of [null, undefined, 'fast', 1, ['fast']]) {
      expect(answeredSpeed(usage), JSON.stringify(usage)).toBeNull();
      expect(speedNamed(usage), JSON.stringify(usage)).toBeNull();
    }
  });
});
