import { describe, expect, it } from 'vitest';
import { serverSecretVerifier } from './secret-verifier.js';

const SECRET = 'server-secret-for-the-verifier-test-012345';

describe('the server secret verifier', () => {
  it('matches its own secret only, salted afresh each time, and holds nothing of the secret', () => {
    const a = serverSecretVerifier(SECRET).make();
    const b = serverSecretVerifier(SECRET).make();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[\w-]{22}\.[\w-]{43}$/);
    expect(a).not.toContain(SECRET.slice(0, 12));
    expect(serverSecretVerifier(SECRET).matches(a)).toBe(true);
    expect(serverSecretVerifier(SECRET).matches(b)).toBe(true);
    expect(serverSecretVerifier(`${SECRET}x`).matches(a)).toBe(false);
  });

  it('refuses a verifier it cannot read, or one cut short', () => {
    const v = serverSecretVerifier(SECRET);
    const made = v.make();
    for (const bad of ['', 'v1', 'v2.a.b', made.slice(0, -4), made.replace(/^v1/, 'v2')]) expect(v.matches(bad), bad).toBe(false);
  });
});
