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

  it('the admin API keeps its rule: Authorization, else api-key; x-api-key is not read there', () => {
    expect(of({ authorization: 'Bearer sk-tg-admin-a', 'api-key': 'sk-tg-admin-b' })).toBe('sk-tg-admin-a');
    expect(of({ 'api-key': 'sk-tg-admin-b' })).toBe('sk-tg-admin-b');
    expect(of({ 'x-api-key': 'sk-tg-admin-c' })).toBeNull();
  });
});
