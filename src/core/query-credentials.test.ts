import { describe, expect, it } from 'vitest';
import { generateSecret } from './key-format.js';
import { credentialInQuery } from './query-credentials.js';

describe('a credential in the query string', () => {
  const key = generateSecret('project', (n) => new Uint8Array(n).map((_, i) => i * 7));

  it('is found by its name, or by a Tollgate key in any value or name', () => {
    expect(credentialInQuery(`?api-key=${key}`)).toBe('api-key');
    expect(credentialInQuery(`?limit=2&token=${key}`)).toBe('token');
    expect(credentialInQuery(`?q=prefix${key}suffix`)).toBe('q');
    expect(credentialInQuery(`?${key}=1`)).toBe('(a parameter named by a key)');
    for (const name of ['api-key', 'API_KEY', 'apikey', 'x-api-key', 'key', 'access_token', 'Authorization']) expect(credentialInQuery(`?${name}=anything`)).toBe(name);
    expect(credentialInQuery('?key')).toBe('key');
  });

  it('is not found in the parameters of the APIs served, nor in a look-alike that fails its checksum', () => {
    expect(credentialInQuery('')).toBeNull();
    expect(credentialInQuery('?')).toBeNull();
    expect(credentialInQuery('?api-version=2024-10-21&limit=20&after=file-abc&beta=true&order=desc')).toBeNull();
    expect(credentialInQuery(`?q=${key.slice(0, -1)}${key.at(-1) === 'A' ? 'B' : 'A'}`)).toBeNull();
  });
});
