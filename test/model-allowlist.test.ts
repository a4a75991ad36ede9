import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 15 §6 and §7: the model is found in every body Tollgate forwards, whatever its Content-Type, and a key's model
// allowlist holds for all of them; model names are bounded and clean before anything is stored or forwarded.

const ORG = '/v1/organization';
const B = 'AaB03x';
const MULTIPART = `multipart/form-data; boundary=${B}`;

/** A multipart/form-data body (CRLF line ends) from parts given as [header lines, value]. */
function multipart(...parts: Array<[string, string | Buffer]>): Buffer {
  const chunks: Buffer[] = [];
  for (const [headers, value] of parts) chunks.push(Buffer.from(`--${B}\r\n${headers}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(chunks);
}
const field = (name: string) => `Content-Disposition: form-data; name="${name}"`;
const audio: [string, Buffer] = ['Content-Disposition: form-data; name="file"; filename="hello.wav"\r\nContent-Type: audio/wav', Buffer.from('RIFF\u0000\u0000WAVEfmt ')];
const chatJson = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });

async function twoUpstreamServer(backend: Parameters<typeof startTestServer>[0], up: FakeUpstream, speech: FakeUpstream): Promise<TestServer> {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-cfg-')), 'tollgate.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: [
        { name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY' },
        { name: 'speech', base_url: speech.url, api_key_env: 'FAKE_UPSTREAM_KEY' },
      ],
      default_provider: 'fake',
      routes: { 'whisper-*': 'speech' },
      aliases: { fast: 'gpt-4o-mini', ears: 'whisper-1' },
      pricing: { 'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 } },
    }),
  );
  return startTestServer(backend, { env: { TOLLGATE_CONFIG: file, FAKE_UPSTREAM_KEY: 'sk-upstream-0123456789' } });
}

describeEachDatabase('the model a request names, whatever its body', (backend) => {
  let up: FakeUpstream;
  let speech: FakeUpstream;
  let t: TestServer;
  let open: string;
  const newKey = async (body: Record<string, unknown> = {}, project = t.defaultProjectId) =>
    (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'm', ...body } })).body as { id: string; value: string };
  /** A request with exactly these headers and bytes (fetch adds no Content-Type to a byte body). */
  const send = (key: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}) =>
    fetch(`${t.url}${path}`, {
      method: o.method ?? 'POST',
      headers: { authorization: `Bearer ${key}`, ...o.headers },
      body: o.body === undefined ? undefined : new Uint8Array(typeof o.body === 'string' ? Buffer.from(o.body) : o.body),
    });
  const seen = () => [...up.seen, ...speech.seen];
  const forget = () => {
    up.seen.length = 0;
    speech.seen.length = 0;
  };

  beforeAll(async () => {
    up = await startFakeUpstream();
    speech = await startFakeUpstream();
    t = await twoUpstreamServer(backend, up, speech);
    open = (await newKey()).value;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
    await speech?.close();
  });

  describe('a key limited to gpt-4o-mini', () => {
    let limited: string;
    beforeAll(async () => {
      limited = (await newKey({ allowed_models: ['gpt-4o-mini', 'fast'] })).value;
    });

    it('never reaches another model, whatever the body, its Content-Type or its encoding', async () => {
      const json = (model: string) => Buffer.from(chatJson(model));
      const cases: Array<[string, string, { method?: string; headers?: Record<string, string>; body?: string | Buffer }, number]> = [
        ['JSON without a Content-Type', '/v1/chat/completions', { body: json('gpt-4') }, 403],
        ['JSON as text/plain', '/v1/chat/completions', { headers: { 'content-type': 'text/plain' }, body: json('gpt-4') }, 403],
        ['JSON as application/octet-stream', '/v1/images/generations', { headers: { 'content-type': 'application/octet-stream' }, body: '{"model":"dall-e-3","prompt":"a cat"}' }, 403],
        ['JSON with a charset', '/v1/chat/completions', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: json('gpt-4') }, 403],
        ['upper-case JSON type', '/v1/chat/completions', { headers: { 'content-type': 'APPLICATION/JSON' }, body: json('gpt-4') }, 403],
        ['a +json type', '/v1/chat/completions', { headers: { 'content-type': 'application/vnd.foo+json' }, body: json('gpt-4') }, 403],
        ['JSON after a BOM and white space, no type', '/v1/images/generations', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \n{"model":"dall-e-3","prompt":"x"}')]) }, 403],
        ['an image without a Content-Type', '/v1/images/generations', { body: '{"model":"dall-e-3","prompt":"a cat"}' }, 403],
        ['duplicate model keys, forbidden last', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","messages":[],"model":"gpt-4"}' }, 400],
        ['duplicate model keys, forbidden first', '/v1/chat/completions', { body: '{"model":"gpt-4","messages":[],"model":"gpt-4o-mini"}' }, 400],
        ['an escaped duplicate key', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","messages":[],"mod\\u0065l":"gpt-4"}' }, 400],
        ['a case-folded duplicate key', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","messages":[],"MODEL":"gpt-4"}' }, 400],
        ['a lone member in another case', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","MESSAGES":[{"role":"user","content":"x"}]}' }, 400],
        ['a non-string model', '/v1/images/generations', { headers: { 'content-type': 'application/json' }, body: '{"model":["dall-e-3"],"prompt":"x"}' }, 400],
        ['a model nested in a tool', '/v1/responses', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","input":"x","tools":[{"type":"image_generation","model":"gpt-image-1"}]}' }, 403],
        ['a model left to the default', '/v1/images/generations', { headers: { 'content-type': 'application/json' }, body: '{"prompt":"a cat"}' }, 400],
        ['a model left to the default, no type', '/v1/moderations', { body: '{"input":"x"}' }, 400],
        ['a model named only in the query of an image', '/v1/images/generations?model=gpt-4o-mini', { headers: { 'content-type': 'application/json' }, body: '{"prompt":"a cat"}' }, 400],
        ['a nested form field', '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'model=gpt-4o-mini&prompt=x&extra[model]=dall-e-3' }, 415],
        ['a run on the assistant model', '/v1/threads/thread_1/runs', { headers: { 'content-type': 'application/json' }, body: '{"assistant_id":"asst_1"}' }, 400],
        ['a fine-tuning job resumed (on its own model)', '/v1/fine_tuning/jobs/ftjob-1/resume', {}, 403],
        ['a batch (models in its file)', '/v1/batches', { headers: { 'content-type': 'application/json' }, body: '{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h"}' }, 403],
        ['gzip', '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(json('gpt-4')) }, 415],
        ['deflate, no type', '/v1/images/generations', { headers: { 'content-encoding': 'deflate' }, body: deflateSync('{"model":"dall-e-3","prompt":"x"}') }, 415],
        ['gzip of an allowed model', '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(json('gpt-4o-mini')) }, 415],
        ['multipart transcription', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('model'), 'whisper-1']) }, 403],
        ['multipart, upper-case type and unquoted name', '/v1/audio/transcriptions', { headers: { 'content-type': `MULTIPART/FORM-DATA; BOUNDARY="${B}"` }, body: multipart(audio, ['content-disposition: form-data; name=model', 'whisper-1']) }, 403],
        ['multipart image edit', '/v1/images/edits', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('model'), 'dall-e-2'], [field('prompt'), 'x']) }, 403],
        ['multipart image edit without a model', '/v1/images/edits', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('prompt'), 'x']) }, 400],
        ['repeated multipart models', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart([field('model'), 'gpt-4o-mini'], audio, [field('model'), 'whisper-1']) }, 400],
        ['a multipart model sent as a file', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [`${field('model')}; filename="model.txt"`, 'whisper-1']) }, 400],
        ['a multipart model in another case', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('Model'), 'whisper-1']) }, 415],
        ['a multipart model hidden in the preamble', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: Buffer.concat([Buffer.from(`${field('model')}\r\n\r\nwhisper-1\r\n`), multipart(audio, [field('model'), 'gpt-4o-mini'])]) }, 415],
        ['multipart with bare LF line ends', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: `--${B}\n${field('model')}\n\nwhisper-1\n--${B}--\n` }, 415],
        ['multipart without a boundary parameter', '/v1/audio/transcriptions', { headers: { 'content-type': 'multipart/form-data' }, body: multipart(audio, [field('model'), 'whisper-1']) }, 415],
        ['a form body', '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'prompt=a+cat&model=dall-e-3' }, 403],
        ['a form body, repeated', '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'model=gpt-4o-mini&prompt=x&model=dall-e-3' }, 400],
        // curl -d without a Content-Type: a JSON object declared as a form cannot be read (not "no JSON object").
        ['JSON declared as a form, to chat', '/v1/chat/completions', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: json('gpt-4o-mini') }, 415],
        ['a form body split by ;', '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'model=gpt-4o-mini&prompt=x;model=dall-e-3' }, 415],
        ['a query parameter', '/v1/chat/completions?model=gpt-4', { method: 'GET' }, 403],
        ['a polluted query', '/v1/chat/completions?model=gpt-4o-mini&model=gpt-4', { method: 'GET' }, 400],
        ['a query naming another model than the body', '/v1/chat/completions?model=gpt-4', { headers: { 'content-type': 'application/json' }, body: json('gpt-4o-mini') }, 400],
        ['a body of no known type', '/v1/files', { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2, 3]) }, 415],
        ['a fine-tuned model deleted by path', '/v1/models/ft:gpt-4o:acme::abc', { method: 'DELETE' }, 403],
      ];
      for (const [label, path, request, status] of cases) {
        forget();
        const res = await send(limited, path, request);
        const body = await res.json();
        expect(res.status, label).toBe(status);
        expect(Object.keys(body.error).sort(), label).toEqual(['code', 'message', 'param', 'type']);
        expect(body.error.type, label).toBe('invalid_request_error');
        expect(seen(), label).toEqual([]);
      }
    });

    it('forwards an allowed model from any body with the Content-Type the client sent, or none', async () => {
      const body = chatJson('gpt-4o-mini');
      for (const type of [undefined, 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.foo+json']) {
        forget();
        const res = await send(limited, '/v1/chat/completions', { headers: type ? { 'content-type': type } : {}, body });
        expect(res.status, String(type)).toBe(200);
        expect(up.seen).toHaveLength(1);
        expect(up.seen[0].headers['content-type'], String(type)).toBe(type);
        expect(up.seen[0].body).toBe(body);
      }
      forget();
      const identity = await send(limited, '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body });
      expect(identity.status).toBe(200);
      expect(up.seen).toHaveLength(1);
    });

    it('forwards a multipart model it allows, byte for byte', async () => {
      const ears = (await newKey({ allowed_models: ['whisper-1'] })).value;
      const body = multipart(audio, [field('model'), 'whisper-1'], [field('language'), 'en']);
      forget();
      const res = await send(ears, '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body });
      expect(res.status).toBe(200);
      expect(speech.seen).toHaveLength(1);
      expect(speech.seen[0].headers['content-type']).toBe(MULTIPART);
      expect(speech.seen[0].body).toBe(body.toString('utf8'));
    });
  });

  it('reads the multipart body the openai SDK sends', async () => {
    const ears = (await newKey({ allowed_models: ['whisper-1'] })).value;
    const mouth = (await newKey({ allowed_models: ['gpt-4o-mini'] })).value;
    const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 15_000 });
    const file = await toFile(Buffer.from('RIFF....WAVEfmt '), 'hello "there".wav', { type: 'audio/wav' });
    forget();
    const heard = await client(ears).audio.transcriptions.create({ file, model: 'whisper-1', language: 'en' });
    expect(heard.text).toBe('hello');
    expect(speech.seen).toHaveLength(1);
    expect(speech.seen[0].headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const refused = await client(mouth)
      .audio.transcriptions.create({ file: await toFile(Buffer.from('RIFF'), 'a.wav'), model: 'whisper-1' })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(speech.seen).toHaveLength(1);
  });

  describe('any key', () => {
    const events = async () => {
      await t.server.gateway.usage.flush();
      return t.server.runtime.database.db.selectFrom('usage_events').selectAll().orderBy('created_at_ms').execute();
    };

    it('routes, limits and meters the model of a multipart body', async () => {
      const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Speech' } })).body.id as string;
      const rl = await t.api('POST', `${ORG}/projects/${project}/rate_limits`, { body: { model: 'whisper-1', max_requests_per_1_minute: 1 } });
      expect(rl.status).toBe(200);
      const key = await newKey({}, project);
      const body = multipart(audio, [field('model'), 'whisper-1']);
      forget();
      const first = await send(key.value, '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body });
      expect(first.status).toBe(200);
      expect(speech.seen).toHaveLength(1);
      expect(up.seen).toHaveLength(0);
      const second = await send(key.value, '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body });
      expect(second.status).toBe(429);
      expect(speech.seen).toHaveLength(1);
      const mine = (await events()).filter((e) => e.api_key_id === key.id);
      expect(mine.map((e) => [e.model, e.provider, e.endpoint, e.outcome])).toEqual([
        ['whisper-1', 'speech', '/audio/transcriptions', 'ok'],
        ['whisper-1', 'speech', '/audio/transcriptions', 'refused'],
      ]);
    });

    it('applies aliases wherever the model is named', async () => {
      forget();
      expect((await send(open, '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('model'), 'ears']) })).status).toBe(200);
      expect(speech.seen[0].body).toBe(multipart(audio, [field('model'), 'whisper-1']).toString('utf8'));
      expect(speech.seen[0].headers['content-length']).toBe(String(multipart(audio, [field('model'), 'whisper-1']).length));
      forget();
      await send(open, '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'prompt=a+cat&model=fast&n=1' });
      expect(up.seen[0].body).toBe('prompt=a+cat&model=gpt-4o-mini&n=1');
      forget();
      await send(open, '/v1/chat/completions?limit=2&model=fast', { method: 'GET' });
      expect(up.seen[0].url).toBe('/v1/chat/completions?limit=2&model=gpt-4o-mini');
      forget();
      // An alias that names the body's model in the query string too is written in both.
      expect((await send(open, '/v1/chat/completions?model=fast', { headers: { 'content-type': 'application/json' }, body: chatJson('fast') })).status).toBe(200);
      expect(up.seen[0].url).toBe('/v1/chat/completions?model=gpt-4o-mini');
      expect(JSON.parse(up.seen[0].body).model).toBe('gpt-4o-mini');
      forget();
      expect((await send(open, '/v1/chat/completions', { body: chatJson('fast') })).status).toBe(200);
      expect(JSON.parse(up.seen[0].body).model).toBe('gpt-4o-mini');
      expect(up.seen[0].headers['content-type']).toBeUndefined();
    });

    it('refuses a body it cannot read on any path (a model endpoint, or one naming objects), and any compressed body', async () => {
      const cases: Array<[string, string, { headers?: Record<string, string>; body?: string | Buffer }, number, string]> = [
        ['chat as text that is not JSON', '/v1/chat/completions', { headers: { 'content-type': 'text/plain' }, body: 'model=gpt-4o-mini' }, 400, 'invalid_value'],
        ['a transcription without a model', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio) }, 400, 'missing_required_parameter'],
        ['a transcription as bytes', '/v1/audio/transcriptions', { headers: { 'content-type': 'audio/wav' }, body: audio[1] }, 415, 'unsupported_media_type'],
        ['an image as ambiguous multipart', '/v1/images/edits', { headers: { 'content-type': MULTIPART }, body: `--${B}\n${field('model')}\n\ndall-e-2\n--${B}--\n` }, 415, 'unsupported_media_type'],
        ['a gzip upload', '/v1/files', { headers: { 'content-type': MULTIPART, 'content-encoding': 'gzip' }, body: gzipSync(multipart(audio)) }, 415, 'unsupported_media_type'],
        // Paths that run no model: what the gateway cannot read may name objects it never checked.
        ['bytes of no known type', '/v1/files', { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2, 3]) }, 415, 'unsupported_media_type'],
        ['a deflated batch', '/v1/batches', { headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body: deflateSync('{"input_file_id":"file-x"}') }, 415, 'unsupported_media_type'],
        ['a batch in UTF-16', '/v1/batches', { body: Buffer.from('{"input_file_id":"file-x"}', 'utf16le') }, 415, 'unsupported_media_type'],
      ];
      for (const [label, path, request, status, code] of cases) {
        forget();
        const res = await send(open, path, request);
        expect(res.status, label).toBe(status);
        expect((await res.json()).error.code, label).toBe(code);
        expect(seen(), label).toEqual([]);
      }
      // The one body forwarded unread, as it came: an SDP offer starting a realtime call.
      forget();
      await send(open, '/v1/realtime/calls', { headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
      expect(up.seen).toHaveLength(1);
      expect(up.seen[0].headers['content-type']).toBe('application/sdp');
    });

    it('refuses a 2 MB or control-character model on every path with 400, storing and forwarding nothing', async () => {
      const limited = (await newKey({ allowed_models: ['gpt-4o-mini'] })).value;
      // Both keys have been used once: what a first use stores (networks, last use) is already there.
      for (const key of [open, limited]) expect((await send(key, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatJson('gpt-4o-mini') })).status).toBe(200);
      const before = await settledSnapshot();
      const huge = 'x'.repeat(2 * 1024 * 1024);
      const long = 'y'.repeat(257);
      const cases: Array<[string, string, { method?: string; headers?: Record<string, string>; body?: string | Buffer }]> = [];
      for (const model of [huge, 'gpt-4o-mini\u0000', 'gpt\u001b[31m', 'gpt-4o-mini\u007f', long]) {
        cases.push(
          ['chat JSON', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatJson(model) }],
          ['chat JSON without a type', '/v1/chat/completions', { body: chatJson(model) }],
          ['image JSON', '/v1/images/generations', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'x' }) }],
          ['multipart', '/v1/audio/transcriptions', { headers: { 'content-type': MULTIPART }, body: multipart(audio, [field('model'), model]) }],
          ['form', '/v1/images/generations', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `prompt=x&model=${encodeURIComponent(model)}` }],
        );
      }
      cases.push(
        ['query', `/v1/chat/completions?model=${long}`, { method: 'GET' }],
        ['query NUL', '/v1/chat/completions?model=gpt-4o%00', { method: 'GET' }],
        ['models path', `/v1/models/${long}`, { method: 'GET' }],
        ['models path, DELETE', `/v1/models/${long}`, { method: 'DELETE' }],
      );
      // A control character in a path is not canonical: refused as an invalid URL before the model is looked at.
      const paths: Array<[string, string, string]> = [
        ['models path NUL', '/v1/models/gpt-4o%00', 'GET'],
        ['models path newline', '/v1/models/gpt-4o%0A', 'DELETE'],
      ];
      forget();
      for (const key of [open, limited]) {
        for (const [label, path, request] of cases) {
          const res = await send(key, path, request);
          const body = await res.json();
          expect(res.status, label).toBe(400);
          expect(body.error, label).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value', param: 'model' });
          expect(body.error.message.length, label).toBeLessThan(400);
        }
        for (const [label, path, method] of paths) expect((await send(key, path, { method })).status, label).toBe(404);
      }
      expect(seen()).toEqual([]);
      const after = await settledSnapshot();
      expect(after.rows).toEqual(before.rows);
      if (backend.name === 'sqlite') expect(after.bytes - before.bytes).toBeLessThan(256 * 1024);
    });

    it('stores a long pass-through path bounded', async () => {
      const long = `/v1/files/file-${'a'.repeat(8000)}`;
      // A file of no project (docs/object-isolation.md): refused, and the refusal is stored bounded as well.
      expect((await send(open, long, { method: 'GET' })).status).toBe(404);
      expect(up.seen.some((r) => r.url === long)).toBe(false);
      const stored = await events();
      expect(Math.max(...stored.map((e) => e.endpoint.length))).toBeLessThanOrEqual(128);
      expect(stored.some((e) => e.endpoint.includes('aaaa'))).toBe(false);
    });

    /**
     * The database once what the server holds back is written (usage events, last use) and what a key's first use
     * writes in the background (its network) has landed: two snapshots 100 ms apart agree.
     */
    async function settledSnapshot(): Promise<Awaited<ReturnType<typeof snapshot>>> {
      let last = await snapshot();
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await t.server.gateway.usage.flush();
        await t.server.runtime.lastUsed.flush();
        const next = await snapshot();
        if (JSON.stringify(next.rows) === JSON.stringify(last.rows)) return next;
        last = next;
      }
      throw new Error('the database did not settle');
    }

    /** The rows of every table, and on SQLite the bytes of the data directory (database, its WAL, the usage log). */
    async function snapshot(): Promise<{ rows: Record<string, number>; bytes: number }> {
      const db = t.server.runtime.database.db;
      const tables =
        backend.name === 'sqlite'
          ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
          : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db)).rows.map((r) => r.name);
      const rows: Record<string, number> = {};
      for (const name of tables.sort()) {
        rows[name] = Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(name)}`.execute(db)).rows[0].n);
      }
      expect(Object.keys(rows)).toEqual(expect.arrayContaining(['usage_events', 'usage_rollups_1h', 'usage_rollups_1d', 'key_networks', 'audit_logs']));
      let bytes = 0;
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else bytes += statSync(path).size;
        }
      };
      walk(t.dataDir);
      return { rows, bytes };
    }
  });
});
