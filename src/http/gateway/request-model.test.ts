import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyRecord } from '../../../test/harness/key-record.js';
import type { GatewayContext } from './gateway-context.js';
import type { GatewayRequest } from './request.js';
import { checkModelUse, requestModel, withModel } from './request-model.js';

const request = (o: Partial<GatewayRequest>): GatewayRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  search: '',
  headers: {},
  rawHeaders: [],
  ip: '127.0.0.1',
  json: null,
  rawBody: null,
  requestId: 'req_test',
  format: 'openai',
  ...o,
});

describe('requestModel', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads a JSON chat call from the body the listener parsed, without parsing it again', () => {
    const text = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'héllo "model" \u00e9' }], stream: true });
    const parse = vi.spyOn(JSON, 'parse');
    const found = requestModel(request({ headers: { 'content-type': 'application/json' }, json: JSON.parse(text), rawBody: Buffer.from(text) }), '/chat/completions');
    expect(found).toMatchObject({ model: 'gpt-4o-mini', places: [{ in: 'json' }], undetermined: null });
    expect(parse).toHaveBeenCalledTimes(1); // the test's own
  });

  it('parses a body sent without a JSON type once, as JSON', () => {
    const text = '\ufeff {"model":"dall-e-3","prompt":"x"}';
    const found = requestModel(request({ headers: { 'content-type': 'text/plain;charset=UTF-8' }, rawBody: Buffer.from(text) }), '/images/generations');
    expect(found).toMatchObject({ model: 'dall-e-3', body: { prompt: 'x' } });
  });

  it('answers 400 and 415 in OpenAI shape for what cannot be decided on', () => {
    const cases: Array<[Partial<GatewayRequest>, string, number, string]> = [
      [{ headers: { 'content-type': 'application/json' }, json: { model: 'x'.repeat(300) }, rawBody: Buffer.from('{}') }, '/embeddings', 400, 'invalid_value'],
      [{ headers: { 'content-encoding': 'br' }, rawBody: Buffer.from('x') }, '/files', 415, 'unsupported_media_type'],
      [{ headers: { 'content-type': 'text/plain' }, rawBody: Buffer.from('hello') }, '/images/generations', 415, 'unsupported_media_type'],
      [{ headers: { 'content-type': 'text/plain' }, rawBody: Buffer.from('hello') }, '/chat/completions', 400, 'invalid_value'],
      [{ headers: { 'content-type': 'application/json' }, json: { input: 'x' }, rawBody: Buffer.from('{"input":"x"}') }, '/audio/speech', 400, 'missing_required_parameter'],
      [{ method: 'DELETE', search: '' }, '/models/a%0Ab', 400, 'invalid_value'],
    ];
    for (const [r, endpoint, status, code] of cases) {
      let err: { status?: number; code?: string } = {};
      try {
        requestModel(request(r), endpoint);
      } catch (e) {
        err = e as typeof err;
      }
      expect([err.status, err.code], endpoint).toEqual([status, code]);
    }
    expect(requestModel(request({ method: 'DELETE' }), '/models/ft%3Agpt-4o%3Aacme').model).toBe('ft:gpt-4o:acme');
  });

  it('refuses 415 a body it cannot read on every path, however it names objects: UTF-16 or UTF-32 JSON, unknown types', () => {
    // Python's json.loads(bytes) reads UTF-16 and UTF-32 JSON, with or without a byte order mark; the gateway read
    // neither, and forwarded one naming another project's file to POST /v1/batches unchecked (found by an outside review).
    const named = JSON.stringify({ input_file_id: 'file-B', endpoint: '/v1/chat/completions', completion_window: '24h' });
    const le = Buffer.from(named, 'utf16le');
    const be = Buffer.from(le).swap16();
    const utf32 = Buffer.alloc(named.length * 4);
    for (let i = 0; i < named.length; i++) utf32.writeUInt32LE(named.charCodeAt(i), i * 4);
    const bodies: Array<[string, Buffer, string | undefined]> = [
      ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), undefined],
      ['UTF-16LE', le, undefined],
      ['UTF-16BE with a BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), undefined],
      ['UTF-16BE', be, 'text/plain'],
      ['UTF-32LE', utf32, undefined],
      ['bytes of no type', Buffer.from([1, 2, 3]), 'application/octet-stream'],
      ['an SDP offer elsewhere', Buffer.from('v=0\r\n'), 'application/sdp'],
    ];
    for (const endpoint of ['/batches', '/vector_stores', '/files', '/containers/cntr_1/files']) {
      for (const method of ['POST', 'GET']) {
        for (const [label, rawBody, type] of bodies) {
          let err: { status?: number; code?: string; message?: string } = {};
          try {
            requestModel(request({ method, headers: type ? { 'content-type': type } : {}, rawBody }), endpoint);
          } catch (e) {
            err = e as typeof err;
          }
          expect([err.status, err.code], `${label} ${method} ${endpoint}`).toEqual([415, 'unsupported_media_type']);
          if (label.startsWith('UTF')) expect(err.message).toContain('UTF-16 or UTF-32');
        }
      }
    }
    // What it reads, and the one body it forwards unread: an SDP offer to start a realtime call.
    const sdp = (type: string, body: string) => request({ headers: { 'content-type': type }, rawBody: Buffer.from(body) });
    expect(requestModel(sdp('application/sdp', 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n'), '/realtime/calls').undetermined).not.toBeNull();
    expect(() => requestModel(sdp('application/sdp', named), '/realtime/calls')).not.toThrow(); // JSON: read as JSON
    expect(() => requestModel(request({ headers: { 'content-type': 'application/sdp' }, rawBody: le }), '/realtime/calls')).toThrow(/UTF-16/);
    expect(() => requestModel(sdp('text/plain', 'v=0\r\n'), '/realtime/calls')).toThrow(/cannot read/);
  });

  it('refuses 415 UTF-16 JSON declared as a form or multipart, on model endpoints too', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [] }), 'utf16le')]);
    const be = Buffer.from(le).swap16();
    for (const endpoint of ['/chat/completions', '/audio/transcriptions', '/images/edits', '/batches']) {
      for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz', 'text/plain']) {
        for (const rawBody of [le, be, be.subarray(2)]) {
          let err: { status?: number; code?: string; message?: string } = {};
          try {
            requestModel(request({ headers: { 'content-type': type }, rawBody }), endpoint);
          } catch (e) {
            err = e as typeof err;
          }
          expect([err.status, err.code], `${endpoint} ${type}`).toEqual([415, 'unsupported_media_type']);
          expect(err.message).toContain('UTF-16 or UTF-32');
        }
      }
    }
  });
});

describe('checkModelUse', () => {
  const g = { refusals: new Map() } as unknown as GatewayContext;
  const limited = keyRecord({ allowedModels: ['gpt-4o-mini'] });
  const found = (o: Partial<ReturnType<typeof requestModel>>) => ({ model: null, places: [], body: null, undetermined: null, ...o });
  const refusal = (f: ReturnType<typeof found>, endpoint: string) => {
    try {
      checkModelUse(g, limited, f, 'POST', endpoint);
      return null;
    } catch (e) {
      return (e as { code: string }).code;
    }
  };

  it('lets keys without an allowlist through, and refuses what a limited key cannot be checked on', () => {
    expect(checkModelUse(g, keyRecord(), found({ undetermined: 'x' }), 'POST', '/batches')).toBeUndefined();
    expect(refusal(found({ undetermined: 'not JSON' }), '/files')).toBe('unsupported_media_type');
    expect(refusal(found({ model: 'gpt-4o-mini', places: [{ in: 'json' }] }), '/batches')).toBe('insufficient_permissions');
    expect(refusal(found({}), '/images/generations')).toBe('missing_required_parameter');
    expect(refusal(found({ model: 'gpt-4o-mini', places: [{ in: 'query', start: 6, end: 17, encoding: 'form' }] }), '/images/generations')).toBe('missing_required_parameter');
    expect(refusal(found({ model: 'gpt-4o-mini', places: [{ in: 'json' }], body: { model: 'gpt-4o-mini' } }), '/images/generations')).toBeNull();
    expect(refusal(found({ model: 'gpt-4o-mini', body: { model: 'gpt-4o-mini', tools: [{ model: 'gpt-image-1' }] } }), '/responses')).toBe('insufficient_permissions');
    expect(refusal(found({ model: 'gpt-4o-mini', body: { model: 'gpt-4o-mini', tools: [{ model: 'gpt-4o-mini' }] } }), '/responses')).toBeNull();
    expect(refusal(found({ model: 'gpt-4o-mini', body: { tools: [{ model: 'x'.repeat(300) }] } }), '/responses')).toBe('invalid_value');
    expect(refusal(found({}), '/files')).toBeNull();
  });
});

describe('withModel', () => {
  it('writes an alias back into multipart, form and query places, and leaves JSON to the forwarder', () => {
    const raw = Buffer.from('a=1&model=fast&b=2');
    expect(withModel(request({ rawBody: raw }), [{ in: 'body', start: 10, end: 14, encoding: 'form' }], 'gpt 4').rawBody?.toString()).toBe('a=1&model=gpt%204&b=2');
    expect(withModel(request({ rawBody: Buffer.from('xxfastyy') }), [{ in: 'body', start: 2, end: 6, encoding: 'raw' }], 'whisper-1').rawBody?.toString()).toBe('xxwhisper-1yy');
    expect(withModel(request({ search: '?model=fast&x=1' }), [{ in: 'query', start: 6, end: 10, encoding: 'form' }], 'gpt-4o-mini').search).toBe('?model=gpt-4o-mini&x=1');
    const both = withModel(request({ rawBody: raw, search: '?model=fast' }), [{ in: 'body', start: 10, end: 14, encoding: 'form' }, { in: 'query', start: 6, end: 10, encoding: 'form' }], 'gpt-4o-mini');
    expect([both.rawBody?.toString(), both.search]).toEqual(['a=1&model=gpt-4o-mini&b=2', '?model=gpt-4o-mini']);
    const r = request({ rawBody: raw });
    expect(withModel(r, [{ in: 'json' }], 'x')).toBe(r);
  });
});
