import { describe, expect, it } from 'vitest';
import { CONFLICTING_KEYS, presentedKey } from './bearer.js';

const of = (headers: Record<string, string>, dataPlane = false) => presentedKey({ headers }, dataPlane);

describe('the presented key', () => {
  it('the data plane reads Authorization, api-key and x-api-key, and refuses two different keys', () => {
    expect(of({ authorization: 'Bearer sk-tg-a' }, true)).toBe('sk-tg-a');
    expect(of({ 'x-api-key': ' sk-tg-a ' }, true)).toBe('sk-tg-a');
    expect(of({ 'api-key': 'sk-tg-a' }, true)).toBe('sk-tg-a');
    expect(of({ authorization: 'Bearer sk-tg-a', 'x-api-key': 'sk-tg-a', 'api-key': 'sk-tg-a' }, true)).toBe('sk-tg-a');
    expect(of({ authorization: 'Bearer sk-tg-a', 'x-api-key': 'sk-tg-b' }, true)).toBe(CONFLICTING_KEYS);
    expect(of({ 'api-key': 'sk-tg-a', 'x-api-key': 'sk-tg-b' }, true)).toBe(CONFLICTING_KEYS);
    expect(of({ authorization: 'Bearer sk-tg-a', 'api-key': 'sk-tg-b' }, true)).toBe(CONFLICTING_KEYS);
    expect(of({}, true)).toBeNull();
    expect(of({ 'x-api-key': '  ' }, true)).toBeNull();
  });

  it('a key header sent twice is read line by line (Node keeps the first Authorization, joins the others)', () => {
    // As Node hands them over: headers (the first Authorization; api-key and x-api-key joined) and every line as sent.
    const raw = (lines: Array<[string, string]>, dataPlane = true) => {
      const headers: Record<string, string> = {};
      for (const [n, v] of lines) {
        const k = n.toLowerCase();
        if (k === 'authorization') headers[k] ??= v;
        else headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      return presentedKey({ headers, rawHeaders: lines.flat() }, dataPlane);
    };
    expect(raw([['Authorization', 'Bearer sk-tg-a'], ['authorization', 'Bearer sk-tg-b']])).toBe(CONFLICTING_KEYS);
    expect(raw([['Authorization', 'Bearer sk-tg-a'], ['authorization', 'Bearer sk-tg-b']], false)).toBe(CONFLICTING_KEYS);
    expect(raw([['X-Api-Key', 'sk-tg-a'], ['x-api-key', 'sk-tg-b']])).toBe(CONFLICTING_KEYS);
    expect(raw([['api-key', 'sk-tg-a'], ['API-KEY', 'sk-tg-b']])).toBe(CONFLICTING_KEYS);
    expect(raw([['api-key', 'sk-tg-a'], ['API-KEY', 'sk-tg-b']], false)).toBe(CONFLICTING_KEYS);
    expect(raw([['Authorization', 'Bearer sk-tg-a'], ['Authorization', 'sk-tg-a']])).toBe('sk-tg-a');
    expect(raw([['x-api-key', 'sk-tg-a'], ['x-api-key', ' sk-tg-a']])).toBe('sk-tg-a');
    expect(raw([['Authorization', 'Bearer sk-tg-a'], ['x-api-key', 'sk-tg-a'], ['x-api-key', 'sk-tg-b']])).toBe(CONFLICTING_KEYS);
    expect(raw([['Authorization', 'Bearer sk-tg-a'], ['Host', 'x']])).toBe('sk-tg-a');
  });

  it('the admin API keeps its rule: Authorization, else api-key; x-api-key is not read there', () => {
    expect(of({ authorization: 'Bearer sk-tg-admin-a', 'api-key': 'sk-tg-admin-b' })).toBe('sk-tg-admin-a');
    expect(of({ 'api-key': 'sk-tg-admin-b' })).toBe('sk-tg-admin-b');
    expect(of({ 'x-api-key': 'sk-tg-admin-c' })).toBeNull();
  });
});
