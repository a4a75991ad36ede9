import { describe, expect, it } from 'vitest';
import { parseControlJsonBody, parseJsonBody } from './json-body.js';

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

  it('never quotes the bytes of a body that is not UTF-8 text in its refusal', () => {
    const gzipped = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0x56, 0xca, 0x4b, 0xcc]);
    for (const read of [parseJsonBody, parseControlJsonBody]) {
      let message = '';
      try {
        read(gzipped);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toBe('We could not parse the JSON body of your request: it is not UTF-8 text.');
    }
  });
});

describe('parseControlJsonBody', () => {
  const control = (text: string) => parseControlJsonBody(Buffer.from(text));

  it('parses what parseJsonBody parses', () => {
    expect(control('{"name":"x","projects":[{"id":"p","role":"member"},{"id":"q","role":"owner"}]}')).toEqual({
      name: 'x',
      projects: [
        { id: 'p', role: 'member' },
        { id: 'q', role: 'owner' },
      ],
    });
    expect(control('')).toBeUndefined();
    expect(() => control('{"__proto__":{"x":1}}')).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    expect(() => control('{"name": ')).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });

  it('refuses a member named twice, at any depth, escaped or not, naming where', () => {
    expect(() => control('{"name":"first","name":"second"}')).toThrow(expect.objectContaining({ code: 'invalid_json', param: 'name' }));
    expect(() => control('{"name":"first","na\\u006de":"second"}')).toThrow(expect.objectContaining({ code: 'invalid_json', param: 'name' }));
    expect(() => control('{"projects":[{"id":"p","id":"q"}]}')).toThrow(
      expect.objectContaining({ code: 'invalid_json', param: 'projects.0.id', message: expect.stringContaining("names 'projects.0.id' more than once") }),
    );
  });

  it('shows only the start of a long name', () => {
    const long = 'n'.repeat(10_000);
    expect(() => control(`{"${long}":1,"${long}":2}`)).toThrow(expect.objectContaining({ param: `${'n'.repeat(200)}…` }));
  });

  it('leaves parseJsonBody as it was: the gateway keeps the last member, as before', () => {
    expect(parse('{"a":1,"a":2}')).toEqual({ a: 2 });
  });
});
