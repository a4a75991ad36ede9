import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type ApiFormat, anthropicErrorBody } from '../../core/anthropic-errors.js';
import { TollgateError } from '../../core/errors.js';
import { anthropicLimitHeaders } from './limit-headers.js';
import { ANTHROPIC_REQUEST_ID_HEADER, errorBodyFor, REQUEST_ID_HEADER, REQUEST_ID_LOG_KEY } from '../shared/request-id.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Sends a JSON answer, with its length (not in chunks) and the request's id. */
export function sendJson(res: ServerResponse, requestId: string, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), [REQUEST_ID_HEADER]: requestId });
  res.end(body);
}

/**
 * Answers a failure in OpenAI's error shape (Anthropic's on its Messages API paths, with the id also in `request-id` as
 * Anthropic answers) with its status and headers (Retry-After, rate-limit headers: Anthropic's names too on its paths). Unexpected errors are logged and
 * answered as `internal_error`, never echoed. Once the answer has begun, the socket is cut instead.
 */
export function sendError(res: ServerResponse, err: unknown, logger: Pick<Logger, 'error'>, requestId: string, format: ApiFormat = 'openai'): void {
  const te = err instanceof TollgateError ? err : new TollgateError('internal_error');
  if (te.status >= 500) logger.error({ err, [REQUEST_ID_LOG_KEY]: requestId }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: OutgoingHttpHeaders = { ...te.headers, 'content-type': JSON_TYPE, [REQUEST_ID_HEADER]: requestId };
  // A body refused for its size was not read: close the connection rather than read the rest.
  if (te.code === 'payload_too_large' || te.code === 'request_timeout') headers.connection = 'close';
  if (format === 'anthropic') {
    headers[ANTHROPIC_REQUEST_ID_HEADER] = requestId;
    // A refusal by Tollgate's limits names them as Anthropic does, beside OpenAI's x-ratelimit-* (limit-headers.ts).
    if (te.limitState) Object.assign(headers, anthropicLimitHeaders(te.limitState));
  }
  const body = JSON.stringify(format === 'anthropic' ? anthropicErrorBody(te, requestId) : errorBodyFor(te, requestId));
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(te.status, headers);
  res.end(body);
}
