import { describe, expect, it } from 'vitest';
import { argon2Hasher, OWASP_ARGON2ID } from './argon2-hasher.js';

describe('argon2Hasher', () => {
  it("hashes with Argon2id at OWASP's profile unless told otherwise", async () => {
    expect(OWASP_ARGON2ID).toEqual({ memoryCost: 19_456, timeCost: 2 });
    const stored = await argon2Hasher().hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await argon2Hasher().verify(stored, 'correct horse battery staple')).toBe(true);
  });

  it('verifies the password it hashed and nothing else; a stored hash of any cost is checked at its own cost', async () => {
    const cheap = argon2Hasher({ memoryCost: 8, timeCost: 1 });
    const stored = await cheap.hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    expect(await cheap.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await cheap.verify(stored, 'correct horse battery stapl')).toBe(false);
    expect(await cheap.verify(stored, '')).toBe(false);
    // The parameters travel in the hash: a server at another profile still checks it.
    expect(await argon2Hasher().verify(stored, 'correct horse battery staple')).toBe(true);
    // Two hashes of one password differ (each has its own salt).
    expect(await cheap.hash('correct horse battery staple')).not.toBe(stored);
  });

  it('answers false, without throwing, for no stored hash or a malformed one', async () => {
    const cheap = argon2Hasher({ memoryCost: 8, timeCost: 1 });
    expect(await cheap.verify(null, 'anything')).toBe(false);
    expect(await cheap.verify('', 'anything')).toBe(false);
    expect(await cheap.verify('$argon2id$v=19$m=8,t=1,p=1$not-base64', 'anything')).toBe(false);
    expect(await cheap.verify('plain text', 'plain text')).toBe(false);
  });
});
