import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Names a client chooses (a model, a path segment, a body member) looked up in Tollgate's own tables: a name that is
// also a member of every JavaScript object (`constructor`, `__proto__`, `toString`) is just a name. Found by an
// outside review: a chat completion naming the model `constructor` was a 500 from the routing table's alias lookup.

const ORG = '/v1/organization';
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('names that are Object.prototype members', () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'names' } })).body.value;
  });
  afterAll(async () => t?.close());

  it('a model so named is routed as a name: no 500, and the model the upstream is sent is that name', async () => {
    for (const model of NAMES) {
      const r = await t.api('POST', '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'hi' }] } });
      expect(r.status, `${model}: ${r.text}`).toBeLessThan(500);
      if (r.status === 200) expect(r.body.model).toBe(model);
      else expect(r.body.error.message).not.toMatch(/native code|undefined|\[object Object\]/);
    }
  });

  it('a path segment so named is no resource family: 404, for every key', async () => {
    const restricted = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'r', permissions: { restricted: { 'chat.completions': 'write' } } } })).body.value;
    for (const name of NAMES) {
      const r = await t.api('GET', `/v1/${name}/abc`, { key });
      expect(r.status, name).toBe(404);
      expect(r.body.error.message, name).not.toMatch(/native code|undefined|\[object Object\]/);
      const s = await t.api('GET', `/v1/${name}`, { key: restricted });
      expect(s.status, name).toBe(404);
      expect(s.body.error.code, name).toBe('unknown_url');
    }
  });

  it('a body member so named is refused by a translation with its own words, not a function’s source', async () => {
    for (const name of NAMES.filter((n) => n !== '__proto__')) {
      const r = await t.api('POST', '/v1/messages', {
        key,
        headers: { 'anthropic-version': '2023-06-01' },
        body: { model: 'tollgate-echo', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], [name]: 'x' },
      });
      expect(r.status, name).toBe(400);
      expect(r.body.error.message, name).toContain(`'${name}'`);
      expect(r.body.error.message, name).not.toContain('native code');
    }
  });
});
