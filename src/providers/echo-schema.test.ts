import { describe, expect, it } from 'vitest';
import { valueFromSchema } from './echo-schema.js';

// The value the built-in model answers for a JSON schema: conforming, or none at all.

const build = (schema: unknown, text = 'hello') => valueFromSchema(schema, text)?.value;

describe('a value built from a JSON schema', () => {
  it('strings from the text, numbers 0 or their nearest bound, booleans false, arrays short, enums and consts first', () => {
    expect(build({ type: 'string' })).toBe('hello');
    expect(build({ type: 'string', maxLength: 3 })).toBe('hel');
    expect(build({ type: 'string', minLength: 7 })).toBe('helloxx');
    expect(build({ type: 'string', format: 'uuid' })).toBe('123e4567-e89b-42d3-a456-426614174000');
    expect(build({ type: 'integer', minimum: 3.5 })).toBe(4);
    expect(build({ type: 'number', exclusiveMaximum: -2 })).toBe(-3);
    expect(build({ type: 'integer', minimum: 5, multipleOf: 4 })).toBe(8);
    expect(build({ type: 'boolean' })).toBe(false);
    expect(build({ type: 'array', items: { type: 'integer' }, minItems: 2 })).toEqual([0, 0]);
    expect(build({ enum: ['b', 'a'] })).toBe('b');
    expect(build({ const: { x: 1 } })).toEqual({ x: 1 });
    expect(build({ type: ['null', 'string'] })).toBeNull();
  });

  it('objects: the required properties and no others; anyOf the first branch that builds; local $refs', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/item' }, b: { type: 'string' }, c: { anyOf: [{ type: 'string', format: 'no-such' }, { type: 'integer' }] } },
      required: ['a', 'c'],
      additionalProperties: false,
      $defs: { item: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
    };
    expect(build(schema)).toEqual({ a: { name: 'hello' }, c: 0 });
    // A recursive schema whose recursion is optional builds; one that requires itself forever does not.
    expect(build({ type: 'object', properties: { next: { $ref: '#' } }, required: [] })).toEqual({});
    expect(build({ type: 'object', properties: { next: { $ref: '#' } }, required: ['next'] })).toBeUndefined();
  });

  it('none for what it cannot satisfy for sure', () => {
    for (const schema of [
      { type: 'string', pattern: '^[0-9]+$' },
      { type: 'string', format: 'no-such-format' },
      { type: 'object', required: ['x'], additionalProperties: false },
      { $ref: '#/$defs/missing' },
      { allOf: [{ type: 'string' }, { minLength: 2 }] },
      { not: { type: 'string' } },
      { type: 'integer', minimum: 1.2, maximum: 1.5 },
      { enum: [] },
      'not a schema',
    ]) {
      expect(valueFromSchema(schema, 'hello'), JSON.stringify(schema)).toBeNull();
    }
  });
});

describe('valueFromSchema: bounded work, and nothing that does not conform (second review)', () => {
  it('refuses a self-referencing anyOf fast instead of searching it exponentially (37 s of the event loop at 3 branches)', () => {
    for (const n of [3, 6]) expect(valueFromSchema({ anyOf: Array.from({ length: n }, () => ({ $ref: '#' })) }, 'x')).toBeNull();
  });

  it('runs a pattern on short candidates only: one that backtracks exponentially on the echoed text is not run on it', () => {
    const text = `${'a'.repeat(40)}!`;
    const value = valueFromSchema({ type: 'string', pattern: '^(?!z)(a|a)*$|^$|^x$' }, text)?.value as string;
    expect(value.length).toBeLessThanOrEqual(12);
    expect(/^(?!z)(a|a)*$|^$|^x$/u.test(value)).toBe(true);
    expect(valueFromSchema({ type: 'string', pattern: '^[0-9]+$' }, 'hello')).toBeNull();
    expect(valueFromSchema({ type: 'string', pattern: '^[a-z]+$' }, 'hello')).toEqual({ value: 'hello' });
  });

  it("builds the positive and negative numbers zod's positive() and pydantic's gt=0 ask for", () => {
    expect(valueFromSchema({ type: 'integer', exclusiveMinimum: 0 }, '')).toEqual({ value: 1 });
    expect(valueFromSchema({ type: 'number', exclusiveMaximum: 0 }, '')).toEqual({ value: -1 });
    expect(valueFromSchema({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }, '')).toEqual({ value: 0.5 });
    expect(valueFromSchema({ type: 'string', format: 'uri' }, 'x')).toEqual({ value: 'https://example.com/' });
  });

  it("keeps a parent's required properties under a branch, and refuses keywords it does not read", () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], anyOf: [{ properties: { b: { type: 'integer' } }, required: ['b'] }] };
    expect(valueFromSchema(schema, 'hi')).toEqual({ value: { a: 'hi', b: 0 } });
    expect(valueFromSchema({ type: 'array', items: { type: 'string' }, contains: { const: 'urgent' } }, 'x')).toBeNull();
    expect(valueFromSchema({ type: 'object', required: ['n'], patternProperties: { '^n$': { type: 'integer' } } }, 'x')).toBeNull();
    expect(valueFromSchema({ type: 'object', required: ['a', 'b'], maxProperties: 1 }, 'x')).toBeNull();
  });
});
