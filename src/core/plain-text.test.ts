import { describe, expect, it } from 'vitest';
import { plainTextProblem, quotedForDisplay } from './plain-text.js';

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

describe('quotedForDisplay', () => {
  it('leaves plain text as it is', () => {
    for (const ok of ['Mobile app', 'Équipe 東京', '🚀', 'a/b c:d']) expect(quotedForDisplay(ok)).toBe(ok);
  });

  it('quotes and escapes as git quotes a path: C escapes, octal for other C0 controls and DEL', () => {
    expect(quotedForDisplay('a\u001b[2Jb')).toBe('"a\\033[2Jb"');
    expect(quotedForDisplay('\u001b]0;pwned\u0007')).toBe('"\\033]0;pwned\\a"');
    expect(quotedForDisplay('tab\there\nnext\r')).toBe('"tab\\there\\nnext\\r"');
    expect(quotedForDisplay('nul\u0000del\u007f')).toBe('"nul\\000del\\177"');
  });

  it('escapes C1 controls, bidi overrides, separators and unpaired surrogates as \\uXXXX, keeping pairs', () => {
    expect(quotedForDisplay('x\u009by')).toBe('"x\\u009by"');
    expect(quotedForDisplay('invoice\u202egnp.exe')).toBe('"invoice\\u202egnp.exe"');
    expect(quotedForDisplay('a\u2028b')).toBe('"a\\u2028b"');
    expect(quotedForDisplay('🚀\ud800')).toBe('"🚀\\ud800"');
  });

  it('quotes a name holding a quote or backslash too, so no name reads as another one escaped', () => {
    expect(quotedForDisplay('back\\slash')).toBe('"back\\\\slash"');
    expect(quotedForDisplay('"a\\033b"')).toBe('"\\"a\\\\033b\\""');
    expect(quotedForDisplay('a\u001bb')).not.toBe(quotedForDisplay('a\\033b'));
  });

  it('never lets a character through that plain text refuses', () => {
    for (let c = 0; c < 0x3000; c++) {
      const shown = quotedForDisplay(`x${String.fromCharCode(c)}y`);
      expect(plainTextProblem(shown), c.toString(16)).toBeNull();
    }
  });
});
