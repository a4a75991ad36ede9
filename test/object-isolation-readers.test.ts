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

  it('refuses a batch input line that is not strict JSON or that a reader may split otherwise, naming the line', async () => {
    const theirs = await upload(aKey, 'secret', 'user_data');
    const mine = await upload(bKey, 'mine', 'user_data');
    const line = (extra: string, file = theirs) =>
      `{"custom_id":"1","method":"POST","url":"/v1/chat/completions"${extra},"body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"${file}"}}]}]}}`;
    const empty = '{"custom_id":"0","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[]}}';
    // Past the few KB an upload's file part is read at (below): these reach the batch's own check.
    const padding = `{"custom_id":"pad","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${'x'.repeat(5000)}"}]}}`;
    const files: Record<string, [string, number]> = {
      // Python's json.loads reads NaN, Infinity and -Infinity; JSON.parse does not.
      nan: [`${padding}\n${line(',"x":NaN')}\n`, 2],
      infinity: [`${padding}\n${line(',"x":-Infinity')}\n`, 2],
      // Universal-newline readers split at a bare CR (then the line is read, and its file found: 404 below); str.splitlines
      // at more (U+2028 inside a string is valid JSON).
      'bare CR': [`${padding}\n${empty}\r${line('')}\n`, 3],
      'U+2028': [`${padding}\n{"custom_id":"0","x":"\u2028${line('').slice(1, -1).replaceAll('"', "'")}"}\n`, 2],
      'vertical tab': [`${padding}\n${empty}\v${line('')}\n`, 2],
      // Bytes that are no UTF-8 (0xff 0xfe below): readers differ on what they stand for.
      'not UTF-8': [`${padding}\n${line(',"x":"@@"')}\n`, 2],
    };
    for (const [name, [content, at]] of Object.entries(files)) {
      const [before, after] = content.split('@@');
      const bytes = after === undefined ? Buffer.from(content) : Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
      const form = new FormData();
      form.set('purpose', 'batch');
      form.set('file', new Blob([bytes]), 'input.jsonl');
      const uploaded = await post(bKey, '/files', form);
      expect(uploaded.status, `${name}: ${uploaded.text}`).toBe(200);
      const input = JSON.parse(uploaded.text).id;
      const r = await sent(() => post(bKey, '/batches', JSON.stringify({ input_file_id: input, endpoint: '/v1/chat/completions', completion_window: '24h' })), input);
      const refusal = name === 'bare CR' ? [404, 'not_found'] : [400, 'invalid_value'];
      expect([r.status, r.error?.code, r.error?.param, r.reached], `${name}: ${r.text}`).toEqual([...refusal, 'input_file_id', false]);
      expect(r.error.message, name).toMatch(new RegExp(`^Line ${at} of the batch input file`));
    }
    // Honest files pass: LF or CRLF line endings, a blank line, U+2028 escaped.
    for (const content of [`${line('', mine)}\n`, `${padding}\r\n${line('', mine)}\r\n\r\n${empty}\r\n`, `${line(',"x":"\\u2028"', mine)}`]) {
      const input = await upload(bKey, content);
      const r = await post(bKey, '/batches', JSON.stringify({ input_file_id: input, endpoint: '/v1/chat/completions', completion_window: '24h' }));
      expect(r.status, JSON.stringify(content.slice(0, 40)) + r.text).toBe(200);
    }
    // A small batch file is read at its upload already, line by line, the same way.
    const form = new FormData();
    form.set('purpose', 'batch');
    form.set('file', new Blob([`${empty}\n${line(',"x":NaN')}\n`]), 'input.jsonl');
    const small = await sent(() => post(bKey, '/files', form), theirs);
    expect([small.status, small.error?.code, small.reached], small.text).toEqual([400, 'invalid_json', false]);
    expect(small.error.message).toMatch(/line 2/);
    // A body or a JSON field only a lenient reader reads goes nowhere either.
    const lenient = `{"model":"gpt-4o-mini","x":NaN,"input":[{"role":"user","content":[{"type":"input_file","file_id":"${theirs}"}]}]}`;
    for (const type of ['application/json', 'text/plain', null]) {
      const headers: Record<string, string> = { authorization: `Bearer ${bKey}` };
      if (type) headers['content-type'] = type;
      const r = await sent(async () => {
        const res = await fetch(`${t.url}/v1/responses`, { method: 'POST', headers, body: lenient });
        return { status: res.status, text: await res.text(), error: null };
      }, theirs);
      expect([r.status >= 400, r.reached], `${type}: ${r.text}`).toEqual([true, false]);
    }
    const call = new FormData();
    call.set('sdp', 'v=0');
    call.set('session', `{"type":"realtime","x":NaN,"prompt":{"id":"pmpt_1","variables":{"doc":{"type":"input_file","file_id":"${theirs}"}}}}`);
    const field = await sent(() => post(bKey, '/realtime/calls', call), theirs);
    expect([field.status, field.error?.code, field.reached], field.text).toEqual([400, 'invalid_json', false]);
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
