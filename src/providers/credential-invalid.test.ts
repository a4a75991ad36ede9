import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback, testProviderConfig } from '../../test/harness/provider-config.js';
import { AbortHandle } from '../core/abort-handle.js';
import { type CredentialFailure, HttpUpstream } from './http-upstream.js';

// A credential the provider says is invalid (401 invalid_api_key) with no other credential let through to witness it:
// a provider's only key, or every key refused alike. Reported once (onCredentialInvalid), kept in use, until it serves.

/** Keys the fake provider takes now; any other gets OpenAI's 401 invalid_api_key. */
const valid = new Set<string>();
const seen: string[] = [];
const server = createServer(async (req, res) => {
  for await (const _ of req);
  const key = String(req.headers.authorization).replace('Bearer ', '');
  seen.push(key);
  res.writeHead(valid.has(key) ? 200 : 401, { 'content-type': 'application/json' });
  if (valid.has(key)) return res.end(JSON.stringify({ key }));
  // A 401 about the request, not the key (a restricted key's missing scope): proves nothing.
  if (key.endsWith('-scoped')) return res.end(JSON.stringify({ error: { message: 'You have insufficient permissions for this operation. Missing scopes: model.request.', type: 'invalid_request_error', param: null, code: null } }));
  res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
});
let base = '';
beforeAll(async () => {
  base = `${await listenOnLoopback(server)}/v1`;
});
afterAll(() => server.close());

function upstream(keys: Array<[string, string]>) {
  const failed: CredentialFailure[] = [];
  const invalid: CredentialFailure[] = [];
  const cfg = testProviderConfig('prov', base, keys);
  // `pick.at`: where in the usable keys the weighted pick falls (0: the first, 0.99: the last).
  const pick = { at: 0 };
  const u = new HttpUpstream(cfg, { clock: () => 1_000_000, random: () => pick.at, onCredentialFailed: (f) => failed.push(f), onCredentialInvalid: (f) => invalid.push(f) });
  const send = async () => {
    const res = await u.send({ method: 'POST', path: '/chat/completions', search: '', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"model":"m"}'), signal: new AbortHandle() });
    return { status: res.statusCode, body: JSON.parse((await res.body.readAll()).toString()) as Record<string, unknown> };
  };
  return { u, send, failed, invalid, pick };
}

describe('a credential the provider says is invalid, with no witness', () => {
  it('a sole key: reported once however many requests, its answer passed on; cleared once it serves, then reported again', async () => {
    valid.clear();
    const p = upstream([['SOLE', 'sk-sole']]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => p.send()));
    expect(answers.every((a) => a.status === 401 && (a.body.error as { code: string }).code === 'invalid_api_key')).toBe(true);
    expect(p.invalid).toEqual([{ provider: 'prov', credential: 'SOLE', status: 401 }]);
    expect(p.u.invalidCredentials()).toEqual(['SOLE']);
    valid.add('sk-sole');
    expect((await p.send()).status).toBe(200);
    expect(p.u.invalidCredentials()).toEqual([]);
    valid.delete('sk-sole');
    await p.send();
    await p.send();
    expect(p.invalid).toHaveLength(2);
    expect(p.failed).toEqual([]);
    await p.u.close();
  });

  it('a sole key refused for what the request asks (a missing scope): nothing reported', async () => {
    valid.clear();
    const p = upstream([['SCOPED', 'sk-x-scoped']]);
    expect((await p.send()).status).toBe(401);
    expect(p.invalid).toEqual([]);
    expect(p.u.invalidCredentials()).toEqual([]);
    await p.u.close();
  });

  it('every key refused alike: each reported once, none disabled, each still tried; one recovers and serves, its state cleared; the others are disabled once it serves a request they were refused for', async () => {
    valid.clear();
    const p = upstream([
      ['K1', 'sk-k1'],
      ['K2', 'sk-k2'],
      ['K3', 'sk-k3'],
    ]);
    for (let i = 0; i < 5; i++) expect((await p.send()).status).toBe(401);
    expect(p.invalid).toEqual(['K1', 'K2', 'K3'].map((credential) => ({ provider: 'prov', credential, status: 401 })));
    expect(p.failed).toEqual([]);
    expect(p.u.invalidCredentials().sort()).toEqual(['K1', 'K2', 'K3']);
    expect(p.u.credentialStats().map((c) => c.usable)).toEqual([true, true, true]);
    seen.length = 0;
    await p.send();
    expect(seen).toEqual(['sk-k1', 'sk-k2', 'sk-k3']);

    // K1 recovers: picked first, it serves the next request alone; K2 and K3 were not tried, and stay as they were.
    valid.add('sk-k1');
    seen.length = 0;
    expect(await p.send()).toEqual({ status: 200, body: { key: 'sk-k1' } });
    expect(seen).toEqual(['sk-k1']);
    expect(p.u.invalidCredentials().sort()).toEqual(['K2', 'K3']);
    expect(p.failed).toEqual([]);

    // K3 then K2 picked first, refused, and K1 serves that request: witnessed, so disabled and reported as any refused
    // key (onCredentialFailed), and no longer counted as invalid with no witness.
    p.pick.at = 0.99;
    seen.length = 0;
    expect(await p.send()).toEqual({ status: 200, body: { key: 'sk-k1' } });
    expect(seen).toEqual(['sk-k3', 'sk-k2', 'sk-k1']);
    expect(p.failed).toEqual(['K3', 'K2'].map((credential) => ({ provider: 'prov', credential, status: 401 })));
    expect(p.u.credentialStats().map((c) => [c.credential, c.usable])).toEqual([
      ['K1', true],
      ['K2', false],
      ['K3', false],
    ]);
    expect(p.u.invalidCredentials()).toEqual([]);
    expect(p.invalid).toHaveLength(3);
    seen.length = 0;
    await p.send();
    expect(seen).toEqual(['sk-k1']);
    await p.u.close();
  });
});
