import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Ways a key of project B could have the upstream read project A's objects, because the check read a request
// otherwise than an upstream may (found by an outside review): a member passed over by its name wherever it stood, a
// batch line an upstream reads and JSON.parse does not, a member deciding a check read in one spelling only.

const ORG = '/v1/organization';

describe("a request is read as an upstream may read it: no other project's object passes unchecked", () => {
  let up: FakeObjectsUpstream;
  let t: TestServer;
  let aKey: string;
  let bKey: string;
  const post = async (key: string, path: string, body: string | FormData) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}/v1${path}`, { method: 'POST', headers, body });
    const text = await res.text();
    return { status: res.status, text, error: res.status >= 400 ? JSON.parse(text).error : null };
  };
  const upload = async (key: string, content: string, purpose = 'batch') => {
    const form = new FormData();
    form.set('purpose', purpose);
    form.set('file', new Blob([content]), 'input.jsonl');
    const r = await post(key, '/files', form);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text).id as string;
  };
  /** The answer, and whether a request carrying `needle` reached the upstream. */
  const sent = async (send: () => ReturnType<typeof post>, needle: string) => {
    const before = up.seen.length;
    const r = await send();
    return { ...r, reached: up.seen.slice(before).some((s) => s.body.includes(needle)) };
  };

  beforeAll(async () => {
    up = await startFakeObjectsUpstream();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-readers-')), 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] }));
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider' } });
    const project = async (name: string) => (await t.api('POST', `${ORG}/projects`, { body: { name } })).body.id;
    const key = async (p: string) => (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'k', permissions: 'all' } })).body.value;
    aKey = await key(await project('A'));
    bKey = await key(await project('B'));
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it("checks a prompt variable's file whatever the variable is named ('metadata', 'parameters', 'schema' too)", async () => {
    const theirs = await upload(aKey, 'secret', 'user_data');
    for (const name of ['doc', 'parameters', 'metadata', 'schema']) {
      const body = { model: 'gpt-4o-mini', prompt: { id: 'pmpt_1', variables: { [name]: { type: 'input_file', file_id: theirs } } } };
      const r = await sent(() => post(bKey, '/responses', JSON.stringify(body)), theirs);
      expect([r.status, r.error?.code, r.reached], `${name}: ${r.text}`).toEqual([404, 'not_found', false]);
    }
    // Metadata where the API puts it is free text, as before.
    const tagged = await post(bKey, '/responses', JSON.stringify({ model: 'gpt-4o-mini', input: 'x', metadata: { file_id: theirs } }));
    expect(tagged.status, tagged.text).toBe(200);
  });

  it("checks a reasoning item's id unless its encrypted content is given once, in any case", async () => {
    const item = (extra: string) => `{"model":"gpt-4o-mini","input":[{"type":"reasoning","id":"rs_someone_elses","summary":[]${extra}}]}`;
    const without = await sent(() => post(bKey, '/responses', item(',"encrypted_content":null')), 'rs_someone_elses');
    expect([without.status, without.error?.code, without.reached], without.text).toEqual([404, 'not_found', false]);
    // Go's encoding/json folds names and keeps the last: it reads null here, and loads the stored item.
    const twice = await sent(() => post(bKey, '/responses', item(',"encrypted_content":"x","Encrypted_Content":null')), 'rs_someone_elses');
    expect([twice.status, twice.error?.code, twice.error?.param, twice.reached], twice.text).toEqual([400, 'invalid_value', 'encrypted_content', false]);
    // A reference with its type left out is one all the same.
    const untyped = await sent(() => post(bKey, '/responses', '{"model":"gpt-4o-mini","input":[{"id":"msg_someone_elses"}]}'), 'msg_someone_elses');
    expect([untyped.status, untyped.error?.code, untyped.reached], untyped.text).toEqual([404, 'not_found', false]);
    // Passed by value, the content comes with it.
    const byValue = await post(bKey, '/responses', item(',"Encrypted_Content":"gAAA"'));
    expect(byValue.status, byValue.text).toBe(200);
  });
});
