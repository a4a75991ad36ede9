import { describe, expect, it } from 'vitest';
import { anthropicErrorBody, anthropicErrorType } from './anthropic-errors.js';
import { TollgateError } from './errors.js';

describe("Anthropic's error shape", () => {
  it("names each refusal with the type Anthropic gives its status, and Tollgate's code in details", () => {
    const cases: Array<[ConstructorParameters<typeof TollgateError>[0], number, string]> = [
      ['invalid_api_key', 401, 'authentication_error'],
      ['missing_api_key', 401, 'authentication_error'],
      ['ip_not_allowed', 403, 'permission_error'],
      ['insufficient_permissions', 403, 'permission_error'],
      ['model_not_found', 404, 'not_found_error'],
      ['invalid_value', 400, 'invalid_request_error'],
      ['unsupported_media_type', 415, 'invalid_request_error'],
      ['payload_too_large', 413, 'request_too_large'],
      ['rate_limit_exceeded', 429, 'rate_limit_error'],
      ['api_key_spend_limit_exceeded', 429, 'rate_limit_error'],
      ['api_key_quota_exceeded', 429, 'rate_limit_error'],
      ['upstream_error', 502, 'api_error'],
      ['upstream_timeout', 504, 'timeout_error'],
      ['internal_error', 500, 'api_error'],
    ];
    for (const [code, status, type] of cases) {
      const err = new TollgateError(code);
      expect(err.status, code).toBe(status);
      const body = anthropicErrorBody(err, 'req_1');
      expect(body, code).toEqual({ type: 'error', error: { type, message: body.error.message, details: { error_code: code } }, request_id: 'req_1' });
      if (code !== 'missing_api_key') expect(body.error.message, code).toBe(err.message);
    }
    // A missing key is asked for where Anthropic's clients send it (Anthropic: "x-api-key header is required"); a
    // message of the refusal's own is kept.
    expect(anthropicErrorBody(new TollgateError('missing_api_key'), null).error.message).toMatch(/^x-api-key header is required/);
    expect(anthropicErrorBody(new TollgateError('missing_api_key', 'Something else.'), null).error.message).toBe('Something else.');
    expect(anthropicErrorType(529)).toBe('overloaded_error');
    expect(anthropicErrorType(402)).toBe('billing_error');
    expect(anthropicErrorType(418)).toBe('invalid_request_error');
  });
});
