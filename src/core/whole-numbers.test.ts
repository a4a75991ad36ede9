import { describe, expect, it } from 'vitest';
import { typedWholeNumber } from './whole-numbers.js';

describe('typedWholeNumber', () => {
  it('reads plain decimal digits, and thousands grouped by commas in threes', () => {
    expect(typedWholeNumber('')).toEqual({ ok: true, value: null });
    expect(typedWholeNumber('   ')).toEqual({ ok: true, value: null });
    expect(typedWholeNumber('25')).toEqual({ ok: true, value: 25 });
    expect(typedWholeNumber(' 600 ')).toEqual({ ok: true, value: 600 });
    expect(typedWholeNumber('0')).toEqual({ ok: true, value: 0 });
    expect(typedWholeNumber('1,000')).toEqual({ ok: true, value: 1000 });
    expect(typedWholeNumber('12,500,000')).toEqual({ ok: true, value: 12_500_000 });
  });

  it("refuses Number's other spellings, which read as numbers the user did not type", () => {
    // Number('0x19') is 25, Number('1e3') 1000, Number('0b101') 5; stripping separators made '1,5' 15 and '2_0' 20.
    for (const text of ['0x19', '1e3', '0b101', '0o17', '1,5', '2_0', '1 000', '1,00', '1,0000', ',100', '100,', '1.5', '1.0', '-5', '+5', 'Infinity', 'ten', '٣']) {
      expect(typedWholeNumber(text), text).toEqual({ ok: false, problem: 'format' });
    }
  });

  it('refuses a number past what a double holds exactly', () => {
    expect(typedWholeNumber('9'.repeat(20))).toEqual({ ok: false, problem: 'too_large' });
    expect(typedWholeNumber(String(Number.MAX_SAFE_INTEGER))).toEqual({ ok: true, value: Number.MAX_SAFE_INTEGER });
  });
});
