import { describe, expect, it } from 'vitest';
import { openAIErrorShape } from './upstream-error-shape.js';

const shape = (body: unknown, status = 400) => {
  const out = openAIErrorShape(JSON.stringify(body), status);
  return out === null ? null : JSON.parse(out);
};

describe("an upstream error in OpenAI's Error shape", () => {
  it('keeps an OpenAI error as it is: message, type, param, code', () => {
    const error = { message: 'Rate limit reached.', type: 'tokens', param: null, code: 'rate_limit_exceeded' };
    expect(shape({ error }, 429)).toEqual({ error });
    expect(shape({ error: { message: 'm', type: 'invalid_request_error', param: 'messages', code: null } })).toEqual({ error: { message: 'm', type: 'invalid_request_error', param: 'messages', code: null } });
  });

  it("gives Gemini's error (numeric code, a status, no type or param) a type, a null param and its status as the code", () => {
    const gemini = { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', metadata: { consumer: 'projects/123' } }] } };
    expect(shape(gemini)).toEqual({ error: { message: 'Invalid JSON payload received.', type: 'invalid_request_error', param: null, code: 'invalid_argument' } });
    // Gemini's OpenAI-compatible endpoint also answers a list of one error.
    expect(shape([gemini])).toEqual({ error: { message: 'Invalid JSON payload received.', type: 'invalid_request_error', param: null, code: 'invalid_argument' } });
    expect(shape({ error: { code: 429, message: 'Resource exhausted.', status: 'RESOURCE_EXHAUSTED' } }, 429)).toEqual({ error: { message: 'Resource exhausted.', type: 'rate_limit_error', param: null, code: 'resource_exhausted' } });
  });

  it('types an error without one by its status, and takes a type, param or code only when it is a string', () => {
    const typeOf = (status: number) => shape({ error: { message: 'm' } }, status).error.type;
    expect([400, 401, 403, 404, 409, 422, 429, 500, 502, 503].map(typeOf)).toEqual([
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'invalid_request_error',
      'invalid_request_error',
      'invalid_request_error',
      'rate_limit_error',
      'api_error',
      'api_error',
      'api_error',
    ]);
    expect(shape({ error: { message: 'm', type: 7, param: ['a'], code: 400 } })).toEqual({ error: { message: 'm', type: 'invalid_request_error', param: null, code: null } });
    expect(shape({ error: { message: 'm', code: 'context_length_exceeded', extra: 'dropped' }, other: 1 })).toEqual({ error: { message: 'm', type: 'invalid_request_error', param: null, code: 'context_length_exceeded' } });
  });

  it('is null (the caller wraps it) for what has no error message', () => {
    for (const text of ['not json', '{}', '{"error":"bad"}', '{"error":{"message":5}}', '[]', '[{"error":{"message":"a"}},{"error":{"message":"b"}}]', 'null']) {
      expect(openAIErrorShape(text, 400), text).toBeNull();
    }
  });
});
