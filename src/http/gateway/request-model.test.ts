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
