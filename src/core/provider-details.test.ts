import { describe, expect, it } from 'vitest';
import { mayHoldProviderDetails, mayHoldProviderKey, withoutProviderDetails, withoutProviderKeys } from './provider-details.js';

// A base64-style provider key: '/' and '+' in it, which JSON encoders write as '\/' (PHP's json_encode, Java's) and
// '\u002B' (.NET's System.Text.Json), and any character may be written as '\uXXXX' in either hex case.
const KEY = 'sk-up-Zq9/Xw8+Vt7Rs6Qp5On4Ml3Kj2Ih1Gf0EdCbA987654';
const u = (c: string, upper = false) => {
  const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};

describe("a provider's key in an upstream's text", () => {
  it('is found and replaced however JSON escapes it, so no decoding of the text gives the key back', () => {
    const spellings = [
      KEY,
      KEY.replaceAll('/', '\\/'),
      KEY.replaceAll('+', u('+', true)),
      KEY.replaceAll('+', u('+')).replaceAll('/', '\\/'),
      `${u('s')}${KEY.slice(1)}`,
      [...KEY].map((c) => u(c, true)).join(''),
      // A JSON text inside a JSON string (an error quoting another service's answer): escaped twice.
      KEY.replaceAll('/', '\\\\\\/'),
      KEY.replaceAll('+', `\\${u('+')}`),
    ];
    for (const spelled of spellings) {
      const text = `{"error":{"message":"Incorrect API key provided: ${spelled}.","type":"invalid_request_error"}}`;
      expect(mayHoldProviderDetails(text, [KEY])).toBe(true);
      const out = withoutProviderDetails(text, [KEY]);
      expect(out).toBe('{"error":{"message":"Incorrect API key provided: [provider key].","type":"invalid_request_error"}}');
      expect(JSON.stringify(JSON.parse(out))).not.toContain(KEY.slice(0, 12));
    }
  });

  it('leaves a text without the key as it was, escapes and all', () => {
    const text = '{"message":"a \\/ b \\u0041 \\"c\\" \\\\ sk\\u002d","n":1}';
    expect(withoutProviderDetails(text, [KEY])).toBe(text);
    expect(mayHoldProviderDetails('{"message":"a \\/ b"}', [KEY])).toBe(false);
  });

  it('keeps the JSON around a key that follows an escaped backslash valid', () => {
    const text = `{"m":"C:\\\\${KEY.replaceAll('/', '\\/')}"}`;
    expect(JSON.parse(withoutProviderDetails(text, [KEY])).m).toBe('C:[provider key]');
  });
});

describe("a provider's key in a model's answer or a text answer (only the key is cleared)", () => {
  const spellings = [KEY, KEY.replaceAll('/', '\\/'), KEY.replaceAll('+', u('+', true)), `${u('s')}${KEY.slice(1)}`, [...KEY].map((c) => u(c)).join(''), KEY.replaceAll('/', '\\\\\\/')];

  it('is found in every spelling withoutProviderDetails finds, and replaced', () => {
    for (const spelled of spellings) {
      const text = `{"content":"Authorization: Bearer ${spelled} (org-AbCdEf123456, sk-abc****wxyz)"}`;
      expect(mayHoldProviderKey(Buffer.from(text), [KEY]), spelled).toBe(true);
      expect(withoutProviderKeys(text, [KEY])).toBe('{"content":"Authorization: Bearer [provider key] (org-AbCdEf123456, sk-abc****wxyz)"}');
    }
  });

  it('is not suspected in a text without it, escaped non-ASCII and all; a key without a long plain run is looked for in every spelling', () => {
    const text = `{"content":"\\u00e9t\\u00e9 \\u4e2d\\n sk-proj-other org-AbCdEf123456 ${KEY.slice(0, 20)}"}`;
    expect(mayHoldProviderKey(Buffer.from(text), [KEY])).toBe(false);
    expect(withoutProviderKeys(text, [KEY])).toBe(text);
    const odd = 'ab-cd_ef/gh+ij-kl';
    expect(mayHoldProviderKey(Buffer.from(`x ${odd.replaceAll('/', '\\/')} y`), [odd])).toBe(true);
    expect(mayHoldProviderKey(Buffer.from('x ab-cd_ef y \\n'), [odd])).toBe(false);
  });
});

describe('a text of a long run of backslashes', () => {
  it('is searched in linear time: 200,000 backslashes, whatever a provider or an echoed input holds', () => {
    const text = JSON.stringify({ error: { message: '\\'.repeat(200_000) } });
    const started = performance.now();
    expect(mayHoldProviderDetails(text, ['sk-up-0000-secretvalue'])).toBe(false);
    expect(withoutProviderDetails(text, ['sk-up-0000-secretvalue'])).toBe(text);
    // Quadratic, this took hours (80,000 took 48 s); linear, a few milliseconds. The bound is far above a busy machine.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
