import { describe, expect, it } from 'vitest';
import { parseJsonBody } from './json-body.js';

const parse = (text: string) => parseJsonBody(Buffer.from(text));

describe('parseJsonBody', () => {
  it('parses ordinary bodies, escapes included', () => {
    expect(parse('{"model":"m","messages":[{"role":"user","content":"caf\\u00e9"}]}')).toEqual({ model: 'm', messages: [{ role: 'user', content: 'café' }] });
    expect(parse('')).toBeUndefined();
  });

  it('refuses prototype-pollution keys, plain or escaped', () => {
    for (const text of ['{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{"x":1}}}}', '{"\\u005f_proto__":{"x":1}}', '{"__pr\\u006fto__":{"x":1}}']) {
      expect(() => parse(text), text).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    }
  });

  it('refuses broken JSON', () => {
    expect(() => parse('{"model": ')).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});
