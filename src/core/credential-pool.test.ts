import { describe, expect, it } from 'vitest';
import { CredentialPool, coolDownMs, DEFAULT_COOL_DOWN_MS, MAX_COOL_DOWN_MS, refusesCredential } from './credential-pool.js';

const creds = [
  { id: 'KEY_A', weight: 3 },
  { id: 'KEY_B', weight: 1 },
];

describe('a pool of provider credentials', () => {
  it('picks by weight among the usable ones, never one already tried, and null once all were', () => {
    let r = 0;
    const pool = new CredentialPool(creds, () => 0, () => r);
    const picks = (n: number) => {
      const count: Record<string, number> = { KEY_A: 0, KEY_B: 0 };
      for (let i = 0; i < n; i++) {
        r = i / n;
        count[(pool.pick(new Set()) as { id: string }).id]++;
      }
      return count;
    };
    expect(picks(100)).toEqual({ KEY_A: 75, KEY_B: 25 });
    r = 0;
    expect(pool.pick(new Set(['KEY_A']))?.id).toBe('KEY_B');
    expect(pool.pick(new Set(['KEY_A', 'KEY_B']))).toBeNull();
  });

  it('skips a credential cooling down until its time is up, and one disabled for good', () => {
    let now = 1000;
    const pool = new CredentialPool(creds, () => now, () => 0);
    pool.coolDown('KEY_A', 30_000);
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    expect(pool.coolingFor('KEY_A')).toBe(30_000);
    now += 30_000;
    expect(pool.pick(new Set())?.id).toBe('KEY_A');
    expect(pool.disable('KEY_A')).toBe(true);
    expect(pool.disable('KEY_A')).toBe(false);
    now += 3_600_000;
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    pool.coolDown('KEY_B', MAX_COOL_DOWN_MS * 10);
    expect(pool.coolingFor('KEY_B')).toBe(MAX_COOL_DOWN_MS);
  });

  it('when none is usable, still tries the first one usable again (cooling before disabled), once', () => {
    let now = 0;
    const pool = new CredentialPool(creds, () => now, () => 0);
    pool.coolDown('KEY_A', 5000);
    pool.coolDown('KEY_B', 1000);
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    pool.disable('KEY_B');
    expect(pool.pick(new Set())?.id).toBe('KEY_A');
    now += 100;
    pool.disable('KEY_A');
    // Both refused: the one refused first is tried, so the refusal is seen, not hidden.
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    expect(pool.pick(new Set(['KEY_B']))).toBeNull();
  });

  it("reads how long a 429 asks to wait: retry-after, OpenAI's and Anthropic's reset headers", () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    expect(coolDownMs({ 'retry-after': '30' }, now)).toBe(30_000);
    expect(coolDownMs({ 'retry-after': 'Fri, 04 Dec 2026 10:01:00 GMT' }, now)).toBe(60_000);
    expect(coolDownMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, now)).toBe(360_000);
    expect(coolDownMs({ 'x-ratelimit-reset-tokens': '20ms' }, now)).toBe(20);
    expect(coolDownMs({ 'anthropic-ratelimit-requests-reset': '2026-12-04T10:00:12Z', 'anthropic-ratelimit-tokens-reset': '2026-12-04T10:00:02Z' }, now)).toBe(12_000);
    expect(coolDownMs({}, now)).toBe(DEFAULT_COOL_DOWN_MS);
    expect(coolDownMs({ 'x-ratelimit-reset-tokens': 'soon' }, now)).toBe(DEFAULT_COOL_DOWN_MS);
  });
});

describe('refusesCredential', () => {
  it('a 401 refuses the key, unless it names permissions or scopes the request needs', () => {
    expect(refusesCredential(401, '{"error":{"message":"Incorrect API key provided: sk-prov-****0000.","code":"invalid_api_key"}}')).toBe(true);
    expect(refusesCredential(401, '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}')).toBe(true);
    expect(refusesCredential(401, '')).toBe(true);
    expect(refusesCredential(401, '{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.files.read."}}')).toBe(false);
  });

  it('a 403 refuses the request, whatever it says (providers quote the path a client chose)', () => {
    expect(refusesCredential(403, '{"error":{"message":"Your request to GET /v1/dashboard/api-key-revoked must be made with a session key."}}')).toBe(false);
    expect(refusesCredential(403, '{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}')).toBe(false);
    expect(refusesCredential(429, '')).toBe(false);
    expect(refusesCredential(500, '')).toBe(false);
  });
});
