// The one closed catalogue of error codes: HTTP status, OpenAI error `type`, and default message.
// docs/errors.md documents every entry; errors.test.ts keeps the two in step.

import { ADMIN_KEY_PREFIX, PROJECT_KEY_PREFIX, SECRET_PATTERN_SOURCE } from './key-shape.js';
import type { LimitState } from './limit-state.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'api_error';

interface CatalogueEntry {
  status: number;
  type: OpenAIErrorType;
  message: string;
}

export const ERROR_CATALOGUE = {
  missing_api_key: {
    status: 401,
    type: 'invalid_request_error',
    message: "You didn't provide an API key. Provide it in the Authorization header (Bearer sk-tg-…).",
  },
  invalid_api_key: { status: 401, type: 'invalid_request_error', message: 'Incorrect API key provided.' },
  invalid_session: { status: 401, type: 'invalid_request_error', message: 'Not signed in.' },
  invalid_credentials: { status: 401, type: 'invalid_request_error', message: 'Incorrect email or password.' },
  setup_token_required: {
    status: 401,
    type: 'invalid_request_error',
    message:
      "Creating the owner account needs the setup token. It was printed when the server started and saved as 'setup-token' in its data directory; or run `tollgate users create-owner` on the server.",
  },
  invalid_setup_token: { status: 401, type: 'invalid_request_error', message: 'Incorrect setup token.' },
  admin_key_required: {
    status: 403,
    type: 'invalid_request_error',
    message: 'This endpoint requires an admin API key (sk-tg-admin-…); a project key cannot use the admin API.',
  },
  insufficient_permissions: {
    status: 403,
    type: 'invalid_request_error',
    message: 'You have insufficient permissions for this operation.',
  },
  ip_not_allowed: {
    status: 403,
    type: 'invalid_request_error',
    message: 'Requests from this IP address are not allowed for this key.',
  },
  mismatched_organization: {
    status: 401,
    type: 'invalid_request_error',
    message: 'The OpenAI-Organization header does not match the organization of this API key.',
  },
  mismatched_project: {
    status: 401,
    type: 'invalid_request_error',
    message: 'The OpenAI-Project header does not match the project of this API key.',
  },
  invalid_signature: {
    status: 401,
    type: 'invalid_request_error',
    message: 'The report is not signed by a trusted reporter.',
  },
  model_not_priced: {
    status: 403,
    type: 'invalid_request_error',
    message: 'The model has no price in this gateway and a spend limit applies: the request was not forwarded.',
  },
  endpoint_not_metered: {
    status: 403,
    type: 'invalid_request_error',
    message: 'Tollgate cannot meter the cost of this endpoint and a spend limit applies: the request was not forwarded.',
  },
  csrf_failed: { status: 403, type: 'invalid_request_error', message: 'Missing or invalid CSRF token.' },
  not_found: { status: 404, type: 'invalid_request_error', message: 'Not found.' },
  unknown_url: { status: 404, type: 'invalid_request_error', message: 'Invalid URL.' },
  model_not_found: { status: 404, type: 'invalid_request_error', message: 'The model does not exist.' },
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  invalid_value: { status: 400, type: 'invalid_request_error', message: 'Invalid value.' },
  unknown_parameter: { status: 400, type: 'invalid_request_error', message: 'Unrecognized request argument.' },
  missing_required_parameter: { status: 400, type: 'invalid_request_error', message: 'Missing required parameter.' },
  invalid_type: { status: 400, type: 'invalid_request_error', message: 'A parameter has the wrong type.' },
  empty_array: { status: 400, type: 'invalid_request_error', message: 'A parameter is an empty array.' },
  project_archived: { status: 400, type: 'invalid_request_error', message: 'The project is archived.' },
  key_revoked: { status: 400, type: 'invalid_request_error', message: 'The API key is revoked.' },
  conflict: { status: 409, type: 'invalid_request_error', message: 'Conflict.' },
  payload_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'Unsupported Content-Type.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'Method not allowed.' },
  expectation_failed: { status: 417, type: 'invalid_request_error', message: 'Only the expectation 100-continue is served.' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', message: 'Rate limit reached.' },
  project_spend_limit_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    message: "The project's spend limit for this period is reached; retrying will not help until it resets or is raised.",
  },
  organization_spend_limit_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    message: "The organization's spend limit for this period is reached.",
  },
  api_key_spend_limit_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    message: "This API key's spend limit for this period is reached; retrying will not help until it resets or is raised.",
  },
  api_key_quota_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    message: "This API key's request quota is used up; retrying will not help until it resets or is raised.",
  },
  too_many_attempts: { status: 429, type: 'rate_limit_error', message: 'Too many attempts; try again later.' },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    message: 'The request body stopped arriving; the connection was closed. Send the whole body without pausing.',
  },
  uri_too_long: { status: 414, type: 'invalid_request_error', message: 'The request URL is too long.' },
  headers_too_large: { status: 431, type: 'invalid_request_error', message: 'The request headers are too large.' },
  malformed_request: { status: 400, type: 'invalid_request_error', message: 'The request is not valid HTTP.' },
  upstream_error: { status: 502, type: 'api_error', message: 'The upstream provider could not be reached.' },
  upstream_auth_failed: {
    status: 502,
    type: 'api_error',
    message: "The upstream provider refused Tollgate's credentials for it; the operator has been told.",
  },
  upstream_timeout: { status: 504, type: 'api_error', message: 'The upstream provider did not answer in time.' },
  upstream_unavailable: { status: 503, type: 'api_error', message: 'The upstream provider is failing and is not being sent requests for now.' },
  service_unavailable: { status: 503, type: 'server_error', message: 'Service temporarily unavailable.' },
  internal_error: { status: 500, type: 'server_error', message: 'The server had an error processing your request.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An expected failure that the HTTP layer renders in OpenAI's error shape. */
/** A Tollgate secret's shape (key-shape.ts): any text of it a message quotes is redacted, checksum or not. */
export const QUOTED_KEY = new RegExp(SECRET_PATTERN_SOURCE, 'g');

export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | null;
  /** Headers the answer must carry (retry-after, x-ratelimit-*). */
  headers: Record<string, string> = {};
  /**
   * Where the request stood against its limits (a refusal by a limit, or an error answered after its admission), for
   * the header names of the client's API (core/limit-state.ts).
   */
  limitState?: LimitState;
  /** Answered after its request was sent upstream (answeredAfterSending): the provider had it. */
  afterSending?: true;

  constructor(code: ErrorCode, message?: string, param: string | null = null) {
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    // A Tollgate key a message quotes (a key sent as the model, echoed by "may not use the model '…'") is never echoed
    // whole: every refusal is made here (found by a review of secrets at rest).
    super(message === undefined ? entry.message : message.includes(PROJECT_KEY_PREFIX) ? message.replace(QUOTED_KEY, (k) => `${k.startsWith(ADMIN_KEY_PREFIX) ? ADMIN_KEY_PREFIX : PROJECT_KEY_PREFIX}…${k.slice(-4)}`) : message);
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.param = param;
  }
}

/** The header OpenAI's and Anthropic's SDKs read before retrying a 408, 409, 429 or 5xx: `false`, they do not retry it. */
export const SHOULD_RETRY_HEADER = 'x-should-retry';

/**
 * Marks an error answered after its request was sent upstream (docs/errors.md, "Retries"): the provider may have acted
 * on it (made an object), may still be generating it, and bills it, so a retry by the client's SDK would run it again
 * (a non-streamed generation later than first_byte_ms ran, and was billed, three times: found by a review). Anything
 * else is an internal error, marked the same (its cause kept for the log). Returns the error answered.
 */
export function answeredAfterSending(err: unknown): TollgateError {
  const te = err instanceof TollgateError ? err : Object.assign(new TollgateError('internal_error'), { cause: err });
  te.headers[SHOULD_RETRY_HEADER] = 'false';
  te.afterSending = true;
  return te;
}

/** The OpenAI error body: `{"error":{"message","type","param","code"}}`. */
export function errorBody(err: TollgateError): {
  error: { message: string; type: string; param: string | null; code: string };
} {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}

/**
 * The answer to a provider refusing Tollgate's credentials for it (a 401 or 403), on every path (native or translated):
 * 502 `upstream_auth_failed` with `x-should-retry: false`. A 5xx OpenAI's and Anthropic's SDKs retry (twice by
 * default): each retry would send the refused credential again, and the client would wait through the backoff for an
 * answer only the operator can change.
 */
export function upstreamAuthFailed(provider: string | null): TollgateError {
  const err = new TollgateError(
    'upstream_auth_failed',
    `The upstream provider '${provider}' refused Tollgate's credentials for it; the operator has been told. This is not a problem with your API key.`,
  );
  return answeredAfterSending(err);
}

/** OpenAI's answer to a URL it does not serve: 404 `Invalid URL (METHOD /path)`, the path without its query, cut at 256. */
export function invalidUrl(method: string, target: string): TollgateError {
  const shown = target.length > 256 ? `${target.slice(0, 256)}…` : target;
  return new TollgateError('unknown_url', `Invalid URL (${method} ${shown})`);
}
