import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorBody, TollgateError } from '../../core/errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Sends a JSON answer, with its length (not in chunks). */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers a failure in OpenAI's error shape with its status and headers (Retry-After, rate-limit headers). Unexpected
 * errors are logged and answered as `internal_error`, never echoed. Once the answer has begun, the socket is cut instead.
 */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): void {
  const te = err instanceof TollgateError ? err : new TollgateError('internal_error');
  if (te.status >= 500) logger.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: OutgoingHttpHeaders = { ...te.headers, 'content-type': JSON_TYPE };
  // A body refused for its size was not read: close the connection rather than read the rest.
  if (te.code === 'payload_too_large' || te.code === 'request_timeout') headers.connection = 'close';
  const body = JSON.stringify(errorBody(te));
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(te.status, headers);
  res.end(body);
}
