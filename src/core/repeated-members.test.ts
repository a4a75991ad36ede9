import { describe, expect, it } from 'vitest';
import { findRepeatedMember } from './repeated-members.js';

describe('findRepeatedMember', () => {
  it('finds nothing in bodies that name each member once', () => {
    for (const text of [
      '{}',
      '[]',
      '"name"',
      '42',
      '{"name":"x","permissions":"all"}',
      // The same name in different objects, and as a value, is not a repetition.
      '{"a":{"name":1},"name":{"name":2},"b":[{"name":1},{"name":2}],"c":"name"}',
      '[{"id":"p","role":"member"},{"id":"p","role":"owner"}]',
      // Names differing only in case or by an escape that changes the character are different names.
      '{"name":1,"Name":2,"na\\\\me":3,"na\\"me":4}',
      '{"s":"a \\" quote, a } brace and a , comma","t":"\\\\"}',
    ]) {
      expect(findRepeatedMember(text), text).toBe(null);
    }
  });

  it('finds a member named twice at the top level', () => {
    expect(findRepeatedMember('{"name":"first","name":"second"}')).toEqual({ name: 'name', path: 'name' });
    expect(findRepeatedMember('{"name":"x","permissions":"read_only","permissions":"all"}')).toEqual({ name: 'permissions', path: 'permissions' });
    expect(findRepeatedMember(' { "a" : 1 ,\n "a" : 2 } ')).toEqual({ name: 'a', path: 'a' });
  });

  it('reads escapes: a \\u escape names the same member as the plain letter', () => {
    expect(findRepeatedMember('{"name":"x","na\\u006de":"y"}')).toEqual({ name: 'name', path: 'name' });
    expect(findRepeatedMember('{"\\u006eame":"x","name":"y"}')).toEqual({ name: 'name', path: 'name' });
    expect(findRepeatedMember('{"a\\"b":1,"a\\u0022b":2}')).toEqual({ name: 'a"b', path: 'a"b' });
    expect(findRepeatedMember('{"caf\\u00e9":1,"café":2}')).toEqual({ name: 'café', path: 'café' });
  });

  it('finds a repetition at any depth and names where', () => {
    expect(findRepeatedMember('{"projects":[{"id":"p","role":"member"},{"id":"q","role":"member","role":"owner"}]}')).toEqual({
      name: 'role',
      path: 'projects.1.role',
    });
    expect(findRepeatedMember('{"rate_limits":{"max_requests_per_1_minute":1,"max_requests_per_1_minute":2}}')).toEqual({
      name: 'max_requests_per_1_minute',
      path: 'rate_limits.max_requests_per_1_minute',
    });
    expect(findRepeatedMember('[[1,2],[{"x":[],"x":{}}]]')).toEqual({ name: 'x', path: '1.0.x' });
    // A name seen in a nested object does not count against its parent, nor the parent's against a later sibling's.
    expect(findRepeatedMember('{"a":{"b":1},"b":{"a":1,"c":{"a":2}},"c":3}')).toBe(null);
  });

  it('scans deep nesting without recursion, in time linear in the text', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(findRepeatedMember(deep)).toBe(null);
    const many = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(',')},"k0":0}`;
    const started = performance.now();
    expect(findRepeatedMember(many)).toEqual({ name: 'k0', path: 'k0' });
    // Loose enough for a loaded machine; a scan quadratic in the members would take minutes.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
