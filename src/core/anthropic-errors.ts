import { ERROR_CATALOGUE, type ErrorCode, type TollgateError } from './errors.js';

// Errors on Anthropic's Messages API paths are answered in Anthropic's shape
// (https://platform.claude.com/docs/en/api/errors): `{"type":"error","error":{"type","message"},"request_id"}`, with the
// HTTP status of the refusal. Anthropic's error type follows the status; its `invalid_request_error` also covers "other
// 4XX status codes not listed". Tollgate's own code (the one OpenAI's shape carries in `code`) goes in
// `error.details.error_code`, where Anthropic puts its own codes (`enforced_spend_limit_reached`): Anthropic's SDKs
// show it in the error's message.

/** The wire format a client speaks: OpenAI's, or Anthropic's Messages API. */
export type ApiFormat = 'openai' | 'anthropic';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

const BY_STATUS: Readonly<Record<number, AnthropicErrorType>> = {
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string; details?: { error_code: string } };
  request_id: string | null;
}

/**
 * Catalogue messages that speak of OpenAI's way, in Anthropic's: its clients send the key in `x-api-key`, and
 * Anthropic's own refusal without one says "x-api-key header is required".
 */
const ANTHROPIC_MESSAGES: Partial<Readonly<Record<ErrorCode, string>>> = {
  missing_api_key: "x-api-key header is required. Provide your Tollgate key (sk-tg-…) in it (or in 'Authorization: Bearer').",
};

/** A Tollgate refusal in Anthropic's error shape (same status). */
export function anthropicErrorBody(err: TollgateError, requestId: string | null): AnthropicErrorBody {
  const message = err.message === ERROR_CATALOGUE[err.code].message ? (ANTHROPIC_MESSAGES[err.code] ?? err.message) : err.message;
  return { type: 'error', error: { type: anthropicErrorType(err.status), message, details: { error_code: err.code } }, request_id: requestId };
}

/** Any error message in Anthropic's shape, for a status (an upstream's error passed on, a stream's end). */
export function anthropicError(status: number, message: string, requestId: string | null = null): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(status), message }, request_id: requestId };
}
