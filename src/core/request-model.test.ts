import { describe, expect, it } from 'vitest';
import { MAX_MODEL_NAME_LENGTH, modelNameProblem } from './model-name.js';
import { modelUseOf } from './model-use.js';
import { bodyKindOf, declaredCharsets, findRequestModel, foreignCharset, type ModelRequest, nestedModels, topLevelKeyCount } from './request-model.js';

const json = (text: string, extra: Partial<ModelRequest> = {}): ReturnType<typeof findRequestModel> =>
  findRequestModel({ contentType: 'application/json', contentEncoding: undefined, raw: Buffer.from(text), json: JSON.parse(text), search: '', ...extra });
const other = (raw: string | Buffer, contentType: string | undefined, extra: Partial<ModelRequest> = {}) =>
  findRequestModel({ contentType, contentEncoding: undefined, raw: Buffer.from(raw), json: undefined, search: '', ...extra });
const model = (f: ReturnType<typeof findRequestModel>) => (f.ok ? f.model : `refused: ${f.code}`);

describe('modelNameProblem', () => {
  it('accepts up to 256 characters without control characters', () => {
    expect(modelNameProblem('gpt-4o-mini')).toBeNull();
    expect(modelNameProblem('ft:gpt-4o-mini:acme:suffix:abc123')).toBeNull();
    expect(modelNameProblem('m'.repeat(MAX_MODEL_NAME_LENGTH))).toBeNull();
    expect(modelNameProblem('modèle-ü')).toBeNull();
    expect(modelNameProblem('m'.repeat(MAX_MODEL_NAME_LENGTH + 1))).toContain('256');
    expect(modelNameProblem('x'.repeat(2 * 1024 * 1024))).toContain('256');
    for (const c of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f']) {
      expect(modelNameProblem(`gpt-4${c}`), JSON.stringify(c)).toContain('control');
    }
  });
});

describe('bodyKindOf', () => {
  it('reads JSON, multipart and form types in any case and with parameters; anything else is tried as JSON', () => {
    expect(bodyKindOf('application/json')).toBe('json');
    expect(bodyKindOf('APPLICATION/JSON; charset=utf-8')).toBe('json');
    expect(bodyKindOf('application/vnd.foo+json')).toBe('json');
    expect(bodyKindOf('Multipart/Form-Data; boundary=x')).toBe('multipart');
    expect(bodyKindOf('application/x-www-form-urlencoded;charset=UTF-8')).toBe('form');
    expect(bodyKindOf('text/plain')).toBe('other');
    expect(bodyKindOf(undefined)).toBe('other');
  });
});

describe('findRequestModel: JSON', () => {
  it('refuses a member a cost is decided on named twice at the top level, however spelled; nested or once is fine', () => {
    for (const text of [
      '{"model":"m","max_tokens":64000,"max_tokens":10}',
      '{"model":"m","tools":[{"type":"web_search_20250305","name":"web_search"}],"tools":[]}',
      '{"model":"m","speed":"fast","speed":"standard"}',
      '{"model":"m","messages":[{"role":"user","content":"a long prompt"}],"messages":[]}',
      '{"model":"m","max_tokens":64000,"max_tok\\u0065ns":10}',
      // At any depth: a tool typed twice, thinking enabled then disabled, a message's content twice.
      '{"model":"m","tools":[{"type":"web_search","type":"function","name":"f","parameters":{}}]}',
      '{"model":"m","thinking":{"type":"enabled","budget_tokens":4000,"type":"disabled"}}',
      '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a long prompt","content":"hi"}]}',
      '{"model":"m","messages":[{"role":"user","content":"say \\"x\\"","content":"hi"}]}',
    ]) {
      const f = json(text);
      expect(f.ok, text).toBe(false);
      if (!f.ok) expect(f.code).toBe('invalid_json');
    }
    // A body that is an array is scanned too.
    const array = json('[{"input":"a","input":"b"}]');
    expect(array.ok).toBe(false);
    if (!array.ok) expect([array.code, array.param]).toEqual(['invalid_json', '0.input']);
    // Nested members of the same name, and members nobody decides on, are no repeat of a top-level one.
    expect(model(json('{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],"metadata":{"max_tokens":"1","tools":"x"}}'))).toBe('m');
    expect(model(json('{"model":"m","requests":[{"params":{"max_tokens":5,"stream":true}},{"params":{"max_tokens":6}}],"max_tokens":7}'))).toBe('m');
  });

  it('reads the top-level model, not nested ones', () => {
    expect(model(json('{"model":"gpt-4o-mini","messages":[]}'))).toBe('gpt-4o-mini');
    expect(model(json('{"messages":[{"role":"user","model":"gpt-4"}],"model":"gpt-4o-mini"}'))).toBe('gpt-4o-mini');
    expect(model(json('{"tools":[{"type":"image_generation","model":"gpt-image-1"}]}'))).toBeNull();
    expect(json('{"model":"a"}')).toMatchObject({ ok: true, places: [{ in: 'json' }], body: { model: 'a' }, undetermined: null });
  });

  it('refuses a model named twice, escaped, or in another case, which readers would take differently', () => {
    for (const text of [
      '{"model":"gpt-4o-mini","model":"gpt-4"}',
      '{"model":"gpt-4","messages":[],"model":"gpt-4o-mini"}',
      '{"model":"gpt-4o-mini","mod\\u0065l":"gpt-4"}',
      '{"mod\\u0065l":"gpt-4","model":"gpt-4o-mini"}',
      '{"model":"gpt-4o-mini","MODEL":"gpt-4"}',
      '{"Model":"gpt-4"}',
      '{"model":"gpt-4o-mini","MODE\\u004c":"gpt-4"}',
    ]) {
      expect(json(text), text).toMatchObject({ ok: false, code: 'invalid_value', param: 'model' });
    }
  });

  it('refuses any member given again in another case, which an upstream matching names without regard to case may take instead', () => {
    for (const [text, param] of [
      ['{"model":"gpt-4o-mini","max_tokens":16,"MAX_TOKENS":100000}', 'max_tokens'],
      ['{"model":"gpt-4o-mini","Messages":[{"role":"user","content":"long"}],"messages":[]}', 'messages'],
      ['{"model":"gpt-4o-mini","stream":true,"Stream":false}', 'stream'],
      // Go's encoding/json folds the Kelvin sign to k and the long s to s.
      ['{"model":"gpt-4o-mini","max_tokens":16,"max_to\u212aen\u017f":100000}', 'max_tokens'],
    ] as const) {
      expect(json(text), text).toMatchObject({ ok: false, code: 'invalid_value', param });
    }
  });

  it('refuses a member in another case alone: the gateway would not read it, an upstream folding case would', () => {
    for (const [text, param] of [
      ['{"model":"gpt-4o-mini","MESSAGES":[{"role":"user","content":"a long prompt"}]}', 'MESSAGES'],
      ['{"model":"gpt-4o-mini","messages":[],"Max_Tokens":100000}', 'Max_Tokens'],
      ['{"model":"gpt-4o-mini","messages":[],"Service_tier":"priority"}', 'Service_tier'],
      ['{"model":"gpt-4o-mini","messages":[],"max_to\u212aens":100000}', 'max_to\u212aens'],
      ['{"model":"gpt-4o-mini","Metadata":{"a":"b"},"messages":[]}', 'Metadata'],
    ] as const) {
      expect(json(text), text).toMatchObject({ ok: false, code: 'invalid_value', param: JSON.parse(`"${param}"`) });
    }
    // Names that do not change case stay the upstream's business: lower case, digits, other scripts.
    expect(model(json('{"model":"gpt-4o-mini","messages":[],"top_k2":1,"naïve":true,"名前":"x"}'))).toBe('gpt-4o-mini');
    // Only the top level: a nested name in capitals is a value the upstream reads as given (a JSON schema's properties).
    expect(model(json('{"model":"gpt-4o-mini","messages":[],"metadata":{"Team":"a"}}'))).toBe('gpt-4o-mini');
  });

  it('refuses a model that is not a string, and reads null, empty and arrays as naming none', () => {
    for (const v of ['5', 'true', '["gpt-4"]', '{"id":"gpt-4"}']) expect(model(json(`{"model":${v}}`)), v).toBe('refused: invalid_value');
    expect(model(json('{"model":null}'))).toBeNull();
    expect(model(json('{"model":""}'))).toBeNull();
    expect(json('[{"model":"gpt-4"}]')).toMatchObject({ ok: true, model: null, body: null });
    expect(json('"gpt-4"')).toMatchObject({ ok: true, model: null, body: null });
  });

  it('refuses a model over 256 characters or with control characters', () => {
    expect(model(json(JSON.stringify({ model: 'x'.repeat(2 * 1024 * 1024) })))).toBe('refused: invalid_value');
    expect(model(json('{"model":"gpt-4o-mini\\u0000"}'))).toBe('refused: invalid_value');
    expect(model(json('{"model":"gpt\\n4"}'))).toBe('refused: invalid_value');
    expect(model(json(JSON.stringify({ model: 'x'.repeat(256) })))).toBe('x'.repeat(256));
  });

  it('refuses a compressed body (its model is hidden) but not an empty one or identity', () => {
    expect(json('{"model":"a"}', { contentEncoding: 'gzip' })).toMatchObject({ ok: false, code: 'unsupported_media_type' });
    expect(json('{"model":"a"}', { contentEncoding: 'deflate, identity' })).toMatchObject({ ok: false, code: 'unsupported_media_type' });
    expect(model(json('{"model":"a"}', { contentEncoding: 'Identity' }))).toBe('a');
    expect(findRequestModel({ contentType: undefined, contentEncoding: 'gzip', raw: null, json: undefined, search: '' })).toMatchObject({ ok: true, model: null });
  });

  it('marks a body that is not JSON, multipart or a form as undetermined', () => {
    expect(other(Buffer.from([0x1f, 0x8b, 0x08]), undefined)).toMatchObject({ ok: true, model: null, undetermined: expect.any(String) });
    expect(other('model=gpt-4', 'text/plain')).toMatchObject({ ok: true, model: null, undetermined: expect.any(String) });
  });
});

describe('the charset a Content-Type declares', () => {
  it('is read in every spelling a reader may take, each of two charset parameters included', () => {
    expect(declaredCharsets('application/json')).toEqual([]);
    expect(declaredCharsets('application/json; charset=utf-8')).toEqual(['utf-8']);
    expect(declaredCharsets('application/json;CHARSET="UTF-7"')).toEqual(['UTF-7']);
    expect(declaredCharsets('application/json; charset = utf-7')).toEqual(['utf-7']);
    expect(declaredCharsets('application/json; charset=utf-8; charset=utf-7')).toEqual(['utf-8', 'utf-7']);
    expect(declaredCharsets("application/json; charset*=utf-8''utf-7")).toEqual(["utf-8''utf-7"]);
    expect(declaredCharsets('application/json; charset="utf\\-7"')).toEqual(['utf\\-7']);
    expect(declaredCharsets('application/json; charset=utf-8,utf-7')).toEqual(['utf-8,utf-7']);
  });

  it('other than UTF-8 or US-ASCII, refuses the body (415), whatever its type; none, or UTF-8 in any case, is read', () => {
    for (const type of ['application/json; charset=utf-7', 'text/plain; charset=utf-16le', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/json; charset=utf-8; charset=utf-7', 'application/json; charset=']) {
      expect(foreignCharset(type), type).not.toBeNull();
      const found = other('{"model":"gpt-4o"}', type);
      expect(found.ok ? null : found.code, type).toBe('unsupported_media_type');
    }
    for (const type of [undefined, 'application/json', 'application/json; charset=UTF-8', 'application/json; charset="us-ascii"', 'multipart/form-data; boundary=x']) expect(foreignCharset(type), type).toBeNull();
    expect(model(json('{"model":"gpt-4o"}', { contentType: 'application/json; charset=utf-8' }))).toBe('gpt-4o');
  });
});

describe('topLevelKeyCount', () => {
  it('counts members of the top-level object only, escapes decoded, in any case', () => {
    expect(topLevelKeyCount(Buffer.from('{"model":1,"a":{"model":2},"b":["model","model"],"c":"model"}'), 'model')).toBe(1);
    expect(topLevelKeyCount(Buffer.from('{"a":"x\\"model\\"","model":1, "MODEL" :2,"mod\\u0065l":3}'), 'model')).toBe(3);
    expect(topLevelKeyCount(Buffer.from('[{"model":1},{"model":2}]'), 'model')).toBe(0);
  });
});

const MP = 'multipart/form-data; boundary=b0undary';
const mp = (...fields: Array<[string, string]>) =>
  `${fields.map(([headers, value]) => `--b0undary\r\n${headers}\r\n\r\n${value}\r\n`).join('')}--b0undary--\r\n`;

describe('findRequestModel: multipart, forms and the query string', () => {
  it('reads a multipart model field with its offsets', () => {
    const raw = mp(['Content-Disposition: form-data; name="file"; filename="a.mp3"', 'ID3...'], ['Content-Disposition: form-data; name="model"', 'whisper-1']);
    const found = other(raw, MP);
    expect(found).toMatchObject({ ok: true, model: 'whisper-1', places: [{ in: 'body', encoding: 'raw' }] });
    const place = found.ok ? found.places[0] : null;
    if (place?.in === 'body') expect(raw.slice(place.start, place.end)).toBe('whisper-1');
  });

  it('refuses repeated, file, non-text, non-UTF-8, multi-line and over-long multipart models', () => {
    const d = 'Content-Disposition: form-data; name="model"';
    expect(model(other(mp([d, 'whisper-1'], [d, 'gpt-4o-transcribe']), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([`${d}; filename="m"`, 'whisper-1']), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([`${d}\r\nContent-Type: application/octet-stream`, 'whisper-1']), MP))).toBe('refused: invalid_value');
    expect(model(other(Buffer.from(mp([d, 'whisper-\xff']), 'latin1'), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([d, 'whisper-1\r\nxx']), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([d, 'x'.repeat(300)]), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([d, 'a\u0000']), MP))).toBe('refused: invalid_value');
    expect(model(other(mp([`${d}\r\nContent-Type: text/plain; charset=utf-8`, 'whisper-1']), MP))).toBe('whisper-1');
  });

  it('marks transfer encodings, other charsets and ambiguous multipart as undetermined', () => {
    const d = 'Content-Disposition: form-data; name="model"';
    for (const raw of [
      mp([`${d}\r\nContent-Transfer-Encoding: base64`, 'd2hpc3Blci0x']),
      mp([`${d}\r\nContent-Type: text/plain; charset=utf-16`, 'whisper-1']),
      mp(['Content-Disposition: form-data; name="_charset_"', 'utf-16'], [d, 'whisper-1']),
      mp(['Content-Disposition: form-data; name="Model"', 'whisper-1']),
      '--b0undary\nContent-Disposition: form-data; name="model"\n\nwhisper-1\n--b0undary--\n',
    ]) {
      expect(other(raw, MP)).toMatchObject({ ok: true, model: null, undetermined: expect.any(String) });
    }
    expect(other(mp([d, 'a']), 'multipart/form-data')).toMatchObject({ ok: true, undetermined: expect.stringContaining('boundary') });
  });

  it('reads form bodies, refusing repeats and marking JSON-looking ones undetermined', () => {
    const found = other('prompt=x&model=dall%2De-3', 'application/x-www-form-urlencoded');
    expect(found).toMatchObject({ ok: true, model: 'dall-e-3', places: [{ in: 'body', start: 15, end: 25, encoding: 'form' }] });
    expect(model(other('model=a&model=b', 'application/x-www-form-urlencoded'))).toBe('refused: invalid_value');
    expect(model(other(`model=${'x'.repeat(257)}`, 'application/x-www-form-urlencoded'))).toBe('refused: invalid_value');
    expect(model(other('model=a%00', 'application/x-www-form-urlencoded'))).toBe('refused: invalid_value');
    expect(other('{"model":"gpt-4"}', 'application/x-www-form-urlencoded')).toMatchObject({ ok: true, model: null, undetermined: expect.any(String) });
    expect(other('x=1;model=gpt-4', 'application/x-www-form-urlencoded')).toMatchObject({ ok: true, model: null, undetermined: expect.any(String) });
  });

  it('marks UTF-16 and UTF-32 JSON undetermined whatever it is declared as, a form or multipart included', () => {
    // Python's json.loads reads UTF-16 and UTF-32 JSON whatever the Content-Type says; read as a form, the bytes of one
    // of its strings may spell another model (found by an outside review: the form's model was checked, the JSON's run).
    const hidden = Buffer.from('&model=gpt-4o-mini&&', 'latin1');
    let spelled = '';
    for (let i = 0; i < hidden.length; i += 2) spelled += String.fromCharCode(hidden[i] | (hidden[i + 1] << 8));
    const named = JSON.stringify({ model: 'gpt-4o', x: spelled });
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(named, 'utf16le')]);
    expect(le.includes(hidden)).toBe(true);
    const be = Buffer.from(named, 'utf16le').swap16();
    const utf32 = Buffer.alloc(named.length * 4);
    for (let i = 0; i < named.length; i++) utf32.writeUInt32BE(named.charCodeAt(i), i * 4);
    for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-16', 'multipart/form-data; boundary=zz']) {
      for (const raw of [le, be, utf32]) {
        // Declared in UTF-16, it is refused for its charset before it is read (415 all the same).
        const expected = type.includes('charset') ? { ok: false, code: 'unsupported_media_type' } : { ok: true, model: null, undetermined: expect.stringContaining('UTF-16 or UTF-32') };
        expect(other(raw, type), type).toMatchObject(expected);
      }
    }
  });

  it('reads the query string, refusing repeats, pollution and a body that names another model', () => {
    const q = (search: string, body?: string) =>
      findRequestModel({ contentType: 'application/json', contentEncoding: undefined, raw: body ? Buffer.from(body) : null, json: body ? JSON.parse(body) : undefined, search });
    expect(q('?limit=10&model=gpt-4o')).toMatchObject({ ok: true, model: 'gpt-4o', places: [{ in: 'query', start: 15, end: 21 }] });
    expect(q('?model=a&model=b')).toMatchObject({ ok: false, code: 'invalid_value', param: 'model' });
    expect(q('?a=1;model=b')).toMatchObject({ ok: false, code: 'invalid_value' });
    expect(q('?MODEL=b')).toMatchObject({ ok: false, code: 'invalid_value' });
    expect(q('?model=a%0Ab')).toMatchObject({ ok: false, code: 'invalid_value' });
    expect(q(`?model=${'x'.repeat(300)}`)).toMatchObject({ ok: false, code: 'invalid_value' });
    expect(q('?model=a', '{"model":"b"}')).toMatchObject({ ok: false, code: 'invalid_value' });
    expect(q('?model=a', '{"model":"a"}')).toMatchObject({ ok: true, model: 'a', places: [{ in: 'json' }, { in: 'query', start: 6, end: 7 }] });
    expect(q('?model=')).toMatchObject({ ok: true, model: null });
    expect(q('?')).toMatchObject({ ok: true, model: null });
  });
});

describe('nestedModels', () => {
  it('collects string models below the top level, in any case, and gives up past depth 64', () => {
    expect(nestedModels({ model: 'top', tools: [{ type: 'image_generation', model: 'gpt-image-1' }], data_source: { sampling: { Model: 'gpt-4' } } })).toEqual(['gpt-image-1', 'gpt-4']);
    expect(nestedModels({ response_format: { schema: { properties: { model: { type: 'string' } } } } })).toEqual([]);
    let deep: unknown = { model: 'x' };
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(nestedModels({ a: deep })).toBeNull();
  });
});

describe('modelUseOf', () => {
  it('says how each POST endpoint picks its model', () => {
    expect(modelUseOf('POST', '/chat/completions')).toBe('required');
    expect(modelUseOf('POST', '/audio/transcriptions')).toBe('required');
    expect(modelUseOf('POST', '/images/generations')).toBe('defaulted');
    expect(modelUseOf('POST', '/threads/thread_abc/runs')).toBe('defaulted');
    expect(modelUseOf('POST', '/batches')).toBe('hidden');
    expect(modelUseOf('POST', '/videos/video_1/remix')).toBe('hidden');
    // Continuations of a job or run on its own model.
    expect(modelUseOf('POST', '/fine_tuning/jobs/ftjob-1/resume')).toBe('hidden');
    expect(modelUseOf('POST', '/threads/t/runs/r/submit_tool_outputs')).toBe('hidden');
    expect(modelUseOf('POST', '/fine_tuning/jobs/ftjob-1/pause')).toBeNull();
    expect(modelUseOf('POST', '/fine_tuning/jobs/ftjob-1/cancel')).toBeNull();
    expect(modelUseOf('POST', '/files')).toBeNull();
    expect(modelUseOf('GET', '/chat/completions')).toBeNull();
    expect(modelUseOf('POST', '/threads/thread_abc/messages')).toBeNull();
    // Any method that may carry a body is read as the POST it stands for; those that carry none run nothing.
    expect(modelUseOf('PUT', '/images/generations')).toBe('defaulted');
    expect(modelUseOf('PATCH', '/batches')).toBe('hidden');
    expect(modelUseOf('PUT', '/chat/completions')).toBe('required');
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) expect(modelUseOf(method, '/images/generations'), method).toBeNull();
  });
});
