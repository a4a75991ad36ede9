import { describe, expect, it } from 'vitest';
import { pageQuery } from './pagination.js';

describe('pageQuery (the dashboard key list)', () => {
  it('takes limit as plain decimal digits only', () => {
    expect(pageQuery({ limit: '2' }).limit).toBe(2);
    expect(pageQuery({}).limit).toBe(20);
    for (const limit of ['0x2', '0b10', '0o2', '2e0', ' 2', '2.0', '+2', '02', ['2', '3']]) {
      expect(() => pageQuery({ limit }), JSON.stringify(limit)).toThrow(expect.objectContaining({ code: 'invalid_value', param: 'limit' }));
    }
  });
});
