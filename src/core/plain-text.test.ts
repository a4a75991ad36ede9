import { describe, expect, it } from 'vitest';
import { plainTextProblem } from './plain-text.js';

describe('plainTextProblem', () => {
  it('accepts ordinary text in any script, emoji and the right-to-left marks', () => {
    for (const ok of ['Mobile app', 'Équipe 東京', '\u200fفريق\u200e', 'x\u061cy', '🚀 launch', 'tab-free', '']) expect(plainTextProblem(ok), ok).toBeNull();
  });

  it('refuses every C0 and C1 control character and DEL, naming it and where it is', () => {
    for (let c = 0; c <= 0x9f; c++) {
      if (c >= 0x20 && c < 0x7f) continue;
      const problem = plainTextProblem(`ab${String.fromCharCode(c)}`);
      expect(problem, c.toString(16)).toContain(`U+${c.toString(16).toUpperCase().padStart(4, '0')} at position 2`);
    }
    expect(plainTextProblem('\u00a0non-breaking')).toBeNull();
  });

  it('refuses bidirectional overrides and isolates, and line separators', () => {
    for (const c of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      expect(plainTextProblem(`a${c}b`)).toMatch(/bidirectional override/);
    }
    expect(plainTextProblem('a\u2028b')).toMatch(/line separator/);
    expect(plainTextProblem('a\u2029b')).toMatch(/line separator/);
  });

  it('refuses unpaired surrogates, not pairs', () => {
    expect(plainTextProblem('a\ud800')).toMatch(/unpaired surrogate/);
    expect(plainTextProblem('\udc00a')).toMatch(/unpaired surrogate/);
    expect(plainTextProblem('\ud83d\ude80')).toBeNull();
  });
});
