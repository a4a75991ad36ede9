import { describe, expect, it } from 'vitest';
import { CredentialPool, coolDownMs, DEFAULT_COOL_DOWN_MS, MAX_COOL_DOWN_MS, MAX_SET_ASIDES, provesCredentialInvalid, refusalScope, refusesCredential } from './credential-pool.js';

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

  it('skips a credential cooling down for a model until its time is up, and one disabled for good', () => {
    let now = 1000;
    const pool = new CredentialPool(creds, () => now, () => 0);
    const scope = refusalScope('POST', '/chat/completions', 'gpt-4o');
    pool.coolDownFor('KEY_A', 'gpt-4o', scope, 30_000);
    expect(pool.pick(new Set(), scope, 'gpt-4o')?.id).toBe('KEY_B');
    expect(pool.coolingFor('KEY_A', 'gpt-4o')).toBe(30_000);
    now += 30_000;
    expect(pool.pick(new Set(), scope, 'gpt-4o')?.id).toBe('KEY_A');
    expect(pool.disable('KEY_A')).toBe(true);
    expect(pool.disable('KEY_A')).toBe(false);
    now += 3_600_000;
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    pool.coolDownFor('KEY_B', 'gpt-4o', scope, MAX_COOL_DOWN_MS * 10);
    expect(pool.coolingFor('KEY_B', 'gpt-4o')).toBe(MAX_COOL_DOWN_MS);
  });

  it('cools a credential down for one model only: its other models, on any endpoint, keep it', () => {
    const now = 0;
    const pool = new CredentialPool(creds, () => now, () => 0);
    const chat = (model: string) => refusalScope('POST', '/chat/completions', model);
    pool.coolDownFor('KEY_A', 'gpt-4o', chat('gpt-4o'), 60_000);
    expect(pool.pick(new Set(), chat('gpt-4o'), 'gpt-4o')?.id).toBe('KEY_B');
    // The model's limit is the same on another endpoint.
    expect(pool.pick(new Set(), refusalScope('POST', '/responses', 'gpt-4o'), 'gpt-4o')?.id).toBe('KEY_B');
    expect(pool.pick(new Set(), chat('gpt-4o-mini'), 'gpt-4o-mini')?.id).toBe('KEY_A');
    // A model named like an endpoint's scope is a model still (the keys are kept apart).
    pool.coolDownFor('KEY_A', 'GET /files', chat('GET /files'), 60_000);
    expect(pool.pick(new Set(), 'GET /files', null)?.id).toBe('KEY_A');
    // A request naming no model is cooled by its endpoint.
    pool.coolDownFor('KEY_A', null, 'GET /files', 60_000);
    expect(pool.pick(new Set(), 'GET /files', null)?.id).toBe('KEY_B');
    expect(pool.pick(new Set(), 'GET /batches', null)?.id).toBe('KEY_A');
    // Served anyway (none other usable): taken back for that model at once.
    pool.servedFor('KEY_A', chat('gpt-4o'), 'gpt-4o');
    expect(pool.coolingFor('KEY_A', 'gpt-4o')).toBe(0);
  });

  it('sets a credential out of quota aside for every request of its provider project, and takes it back when served', () => {
    let now = 0;
    const pool = new CredentialPool(creds, () => now, () => 0);
    const scope = refusalScope('POST', '/chat/completions', 'gpt-4o');
    expect(pool.setAsideForQuota('KEY_A', null, 3_600_000)).toBe(true);
    expect(pool.setAsideForQuota('KEY_A', null, 3_600_000)).toBe(false);
    expect(pool.isOutOfQuota('KEY_A')).toBe(true);
    expect(pool.pick(new Set(), scope, 'gpt-4o')?.id).toBe('KEY_B');
    expect(pool.pick(new Set(), 'GET /models', null)?.id).toBe('KEY_B');
    // Requests made in another provider project (OpenAI-Project) keep it: that project's quota may not be spent.
    expect(pool.pick(new Set(), scope, 'gpt-4o', 'proj_other')?.id).toBe('KEY_A');
    pool.servedFor('KEY_A', scope, 'gpt-4o', null);
    expect(pool.isOutOfQuota('KEY_A')).toBe(false);
    pool.setAsideForQuota('KEY_A', null, 3_600_000);
    now += 3_600_000;
    expect(pool.isOutOfQuota('KEY_A')).toBe(false);
    expect(pool.pick(new Set(), scope, 'gpt-4o')?.id).toBe('KEY_A');
  });

  it('when none is usable, still tries the first one usable again (cooling before disabled), once', () => {
    let now = 0;
    const pool = new CredentialPool(creds, () => now, () => 0);
    pool.coolDownFor('KEY_A', 'm', 'POST /chat/completions m', 5000);
    pool.coolDownFor('KEY_B', 'm', 'POST /chat/completions m', 1000);
    expect(pool.pick(new Set(), 'POST /chat/completions m', 'm')?.id).toBe('KEY_B');
    pool.disable('KEY_B');
    expect(pool.pick(new Set(), 'POST /chat/completions m', 'm')?.id).toBe('KEY_A');
    now += 100;
    pool.disable('KEY_A');
    // Both refused: the one refused first is tried, so the refusal is seen, not hidden.
    expect(pool.pick(new Set())?.id).toBe('KEY_B');
    expect(pool.pick(new Set(['KEY_B']))).toBeNull();
  });

  it('sets a credential aside for one scope only: it keeps its share of every other, and comes back after its time', () => {
    let now = 0;
    let r = 0;
    const pool = new CredentialPool(creds, () => now, () => r);
    const x = refusalScope('POST', '/chat/completions', 'model-x');
    const y = refusalScope('POST', '/chat/completions', 'model-y');
    expect(pool.setAsideFor('KEY_A', x, 3_600_000)).toBe(true);
    expect(pool.setAsideFor('KEY_A', x, 3_600_000)).toBe(false);
    for (r of [0, 0.5, 0.99]) expect(pool.pick(new Set(), x)?.id).toBe('KEY_B');
    expect(pool.hasUsable(new Set(['KEY_B']), x)).toBe(false);
    // Other scopes, and callers that name none, still get KEY_A by its weight.
    r = 0;
    expect(pool.pick(new Set(), y)?.id).toBe('KEY_A');
    expect(pool.pick(new Set())?.id).toBe('KEY_A');
    expect(pool.hasUsable(new Set(['KEY_B']), y)).toBe(true);
    expect(pool.isDisabled('KEY_A')).toBe(false);
    expect(pool.isSetAsideFor('KEY_A', x)).toBe(true);
    now += 3_600_000;
    expect(pool.isSetAsideFor('KEY_A', x)).toBe(false);
    expect(pool.pick(new Set(), x)?.id).toBe('KEY_A');
  });

  it('a set-aside credential is still tried last for its scope (before a disabled one), and one that serves it is taken back', () => {
    const now = 0;
    const pool = new CredentialPool(creds, () => now, () => 0);
    const x = refusalScope('POST', '/chat/completions', 'model-x');
    pool.setAsideFor('KEY_A', x, 3_600_000);
    pool.disable('KEY_B');
    expect(pool.pick(new Set(), x)?.id).toBe('KEY_A');
    expect(pool.pick(new Set(['KEY_A']), x)).toBeNull();
    // Cooling down for a minute beats set aside for an hour.
    const other = new CredentialPool(creds, () => now, () => 0);
    other.setAsideFor('KEY_A', x, 3_600_000);
    other.coolDownFor('KEY_B', 'model-x', x, 60_000);
    expect(other.pick(new Set(), x, 'model-x')?.id).toBe('KEY_B');
    other.servedFor('KEY_A', x);
    expect(other.pick(new Set(), x, 'model-x')?.id).toBe('KEY_A');
  });

  it('keeps its set-asides bounded, the oldest going first, and no scope too long to keep', () => {
    const pool = new CredentialPool(creds, () => 0, () => 0);
    pool.setAsideFor('KEY_A', 'first', 60_000);
    for (let i = 0; i < MAX_SET_ASIDES; i++) pool.setAsideFor('KEY_B', `scope-${i}`, 60_000);
    expect(pool.isSetAsideFor('KEY_A', 'first')).toBe(false);
    expect(pool.isSetAsideFor('KEY_B', `scope-${MAX_SET_ASIDES - 1}`)).toBe(true);
    const long = refusalScope('POST', '/chat/completions', 'm'.repeat(100_000));
    expect(pool.setAsideFor('KEY_A', long, 60_000)).toBe(false);
    expect(pool.pick(new Set(), long)?.id).toBe('KEY_A');
    // Cool-downs too: a model's name is the client's.
    for (let i = 0; i <= MAX_SET_ASIDES; i++) pool.coolDownFor('KEY_B', `model-${i}`, 'POST /chat/completions', 60_000);
    expect(pool.coolingFor('KEY_B', 'model-0')).toBe(0);
    expect(pool.coolingFor('KEY_B', `model-${MAX_SET_ASIDES}`)).toBe(60_000);
    pool.coolDownFor('KEY_A', 'm'.repeat(100_000), 'POST /chat/completions', 60_000);
    expect(pool.pick(new Set(), 'POST /chat/completions', 'm'.repeat(100_000))?.id).toBe('KEY_A');
  });

  it('a scope is the model on the endpoint, or the endpoint alone', () => {
    expect(refusalScope('POST', '/chat/completions', 'gpt-4o')).toBe('POST /chat/completions gpt-4o');
    expect(refusalScope('GET', '/files/{file_id}', null)).toBe('GET /files/{file_id}');
    expect(refusalScope('POST', '/embeddings', 'gpt-4o')).not.toBe(refusalScope('POST', '/chat/completions', 'gpt-4o'));
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

  it('takes a retry-after only as delta-seconds or an HTTP-date (RFC 9110): anything else leaves the other headers and the default to apply (found by an outside review)', () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    // V8 reads '-1' as 2001-01-01: the 429 cooled the key 0 ms, and its reset headers were never read.
    expect(coolDownMs({ 'retry-after': '-1' }, now)).toBe(DEFAULT_COOL_DOWN_MS);
    expect(coolDownMs({ 'retry-after': '-1', 'x-ratelimit-reset-requests': '20s' }, now)).toBe(20_000);
    expect(coolDownMs({ 'retry-after': '-1', 'anthropic-ratelimit-tokens-reset': '2026-12-04T10:00:12Z' }, now)).toBe(12_000);
    for (const odd of ['1.5', '+30', '30s', '0x10', '1e3', 'soon', '2026-12-04', '2026-12-04T10:01:00Z', '12/04/2026 10:01', 'Dec 4 2026', 'Fri, 31 Feb 2026 10:01:00 GMT', 'Fri, 04 Dec 2026 25:01:00 GMT', 'Fri, 04 Dec 2026 10:01:00 PST', 'Fri, 4 Dec 2026 10:01:00 GMT']) {
      expect([odd, coolDownMs({ 'retry-after': odd, 'x-ratelimit-reset-tokens': '7s' }, now)]).toEqual([odd, 7_000]);
    }
    // The three HTTP-date forms: IMF-fixdate, RFC 850 (a two-digit year: the most recent century that does not put it
    // more than 50 years ahead) and asctime.
    expect(coolDownMs({ 'retry-after': 'Fri, 04 Dec 2026 10:01:00 GMT' }, now)).toBe(60_000);
    expect(coolDownMs({ 'retry-after': 'Friday, 04-Dec-26 10:01:00 GMT' }, now)).toBe(60_000);
    expect(coolDownMs({ 'retry-after': 'Fri Dec  4 10:01:00 2026' }, now)).toBe(60_000);
    expect(coolDownMs({ 'retry-after': 'Fri Dec 14 10:00:00 2026' }, now)).toBe(10 * 86_400_000);
    // A date past is now: no wait.
    expect(coolDownMs({ 'retry-after': 'Thu, 03 Dec 2026 10:00:00 GMT' }, now)).toBe(0);
    expect(coolDownMs({ 'retry-after': '0' }, now)).toBe(0);
  });

  it("takes Anthropic's reset times only as RFC 3339 date-times, OpenAI's resets only as durations", () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    for (const odd of ['-1', '1', '12', '2026-12-04', 'Fri, 04 Dec 2026 10:01:00 GMT', '2026-12-04T10:00:30', '2026-13-04T10:00:30Z', '2026-12-04T10:00:30+25:00', 'tomorrow']) {
      expect([odd, coolDownMs({ 'anthropic-ratelimit-tokens-reset': odd }, now)]).toEqual([odd, DEFAULT_COOL_DOWN_MS]);
    }
    expect(coolDownMs({ 'anthropic-ratelimit-tokens-reset': '2026-12-04T10:00:30.250Z' }, now)).toBe(30_250);
    expect(coolDownMs({ 'anthropic-ratelimit-tokens-reset': '2026-12-04T11:00:30+01:00' }, now)).toBe(30_000);
    expect(coolDownMs({ 'anthropic-ratelimit-tokens-reset': '2026-12-04t10:00:30z' }, now)).toBe(30_000);
    for (const odd of ['-1s', '1', '1.s', '.5s', '1d', 's']) expect([odd, coolDownMs({ 'x-ratelimit-reset-tokens': odd }, now)]).toEqual([odd, DEFAULT_COOL_DOWN_MS]);
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

describe('provesCredentialInvalid', () => {
  const openai = (code: string | null, message = 'Incorrect API key provided: sk-prov-****0000.') => JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });

  it("the providers' own answers for a dead key: OpenAI's codes, Anthropic's authentication_error, Azure's subscription key", () => {
    expect(provesCredentialInvalid(401, openai('invalid_api_key'))).toBe(true);
    expect(provesCredentialInvalid(401, openai('account_deactivated', 'The OpenAI account associated with this API key has been deactivated.'))).toBe(true);
    expect(provesCredentialInvalid(401, '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_1"}')).toBe(true);
    expect(provesCredentialInvalid(401, '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}')).toBe(true);
  });

  it('a 401 a request can bring about, or one saying nothing checkable, proves nothing', () => {
    expect(provesCredentialInvalid(401, openai(null, 'You have insufficient permissions for this operation. Missing scopes: api.files.read.'))).toBe(false);
    expect(provesCredentialInvalid(401, openai('mismatched_organization', 'OpenAI-Organization header should match organization for API key'))).toBe(false);
    expect(provesCredentialInvalid(401, '{"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}')).toBe(false);
    expect(provesCredentialInvalid(401, '')).toBe(false);
    expect(provesCredentialInvalid(401, 'Unauthorized')).toBe(false);
    expect(provesCredentialInvalid(401, '{"error":"invalid_api_key"}')).toBe(false);
  });

  it('the words alone are not enough: a message may quote what the client sent', () => {
    expect(provesCredentialInvalid(401, openai(null, 'Incorrect API key provided: invalid_api_key account_deactivated invalid x-api-key'))).toBe(false);
    expect(provesCredentialInvalid(401, '{"error":{"code":null,"message":"Access denied due to invalid subscription key"}}')).toBe(false);
  });

  it('only a 401, and only a body of a bounded size', () => {
    expect(provesCredentialInvalid(403, openai('invalid_api_key'))).toBe(false);
    expect(provesCredentialInvalid(400, openai('invalid_api_key'))).toBe(false);
    expect(provesCredentialInvalid(401, openai('invalid_api_key', 'x'.repeat(20_000)))).toBe(false);
  });
});
