import type { IncomingMessage } from 'node:http';
import { errorBody, type TollgateError } from '../../core/errors.js';

// Every answer Tollgate gives carries the id it gave the request, in `x-request-id` as OpenAI's API does (the openai
// SDKs read it into `_request_id` and `err.requestID` / `err.request_id`). The same id is in the request's log lines
// and usage event; an upstream's own id is passed on as `x-upstream-request-id` and kept in the usage event.

/** The header of Tollgate's request id. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Anthropic's header for its request id (its SDKs read it): on Anthropic-shaped answers it holds Tollgate's id too. */
export const ANTHROPIC_REQUEST_ID_HEADER = 'request-id';
/** The header an upstream's own request id is passed on in. */
export const UPSTREAM_REQUEST_ID_HEADER = 'x-upstream-request-id';
/** Fastify's log label for the request id, and the gateway's: the same key in every log line. */
export const REQUEST_ID_LOG_KEY = 'request_id';

const ID = Symbol('tollgate.requestId');

/** Gives a node:http request its id (read back by Fastify's genReqId). */
export function setRequestId(req: IncomingMessage, id: string): void {
  (req as IncomingMessage & { [ID]?: string })[ID] = id;
}

/** The id given to a request, if any. */
export function requestIdOf(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { [ID]?: string })[ID];
}

/**
 * OpenAI's error body. OpenAI's error bodies carry no id member (the specification's Error has none; clients read the
 * header); its server errors name the request id in their message, and so do Tollgate's.
 */
export function errorBodyFor(err: TollgateError, requestId: string | undefined): ReturnType<typeof errorBody> {
  const body = errorBody(err);
  if (err.status >= 500 && requestId) body.error.message = `${body.error.message} (Please include the request ID ${requestId} when you report this.)`;
  return body;
}

/** The longest upstream request id kept. */
const MAX_UPSTREAM_ID = 128;

/** An upstream's `x-request-id` (Anthropic's `request-id`) as kept: printable ASCII of at most 128 characters, else null. */
export function upstreamRequestIdOf(headers: Record<string, string | string[] | undefined>): string | null {
  const v = headers[REQUEST_ID_HEADER] ?? headers[ANTHROPIC_REQUEST_ID_HEADER];
  const id = Array.isArray(v) ? v[0] : v;
  if (!id || id.length > MAX_UPSTREAM_ID) return null;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
  }
  return id;
}
