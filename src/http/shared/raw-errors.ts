import { type IncomingMessage, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { answerFormat } from '../../core/api-routes.js';
import { errorBody, TollgateError } from '../../core/errors.js';
import { Deadlines } from '../gateway/deadlines.js';
import { sendError } from '../gateway/respond.js';
import { errorBodyFor, REQUEST_ID_HEADER } from './request-id.js';

// Errors answered before any route sees the request (Node's parser, Fastify's router), and the body-idle cut of
// Fastify's routes: in OpenAI's error shape like every other answer, never Node's or Fastify's own.

/** The raw HTTP/1.1 answer for a request Node could not parse (`clientError`): OpenAI's shape, connection closed. */
export function clientErrorAnswer(err: { code?: string }, requestId: string): string {
  const te =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new TollgateError('headers_too_large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? new TollgateError('request_timeout', 'The request did not arrive in time; the connection was closed.')
        : new TollgateError('malformed_request');
  return rawErrorAnswer(te, requestId);
}

/** An error as a raw HTTP/1.1 answer, written straight to a socket: OpenAI's shape, with its request id, connection closed. */
function rawErrorAnswer(te: TollgateError, requestId: string): string {
  const body = JSON.stringify(errorBodyFor(te, requestId));
  const reason = STATUS_CODES[te.status] ?? 'Bad Request';
  return `HTTP/1.1 ${te.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nconnection: close\r\n\r\n${body}`;
}

/** Node's `clientError` listener: answers in OpenAI's shape, with a request id, when the socket can still take it. */
export function onClientError(err: Error & { code?: string }, socket: Duplex, requestId: string): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.end(clientErrorAnswer(err, requestId));
  else socket.destroy();
}

/**
 * Node's `connect` listener: CONNECT asks for a tunnel, and Tollgate is no forward proxy. Without a listener Node
 * destroys the socket with no answer at all: 405 in OpenAI's shape instead, the connection closed.
 */
export function onConnect(socket: Duplex, requestId: string): void {
  if (socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  socket.end(rawErrorAnswer(new TollgateError('method_not_allowed', 'CONNECT is not served: Tollgate is not a forward proxy.'), requestId));
}

/** An HTTP/1.1 request without `Host` (RFC 9112 §3.2: a server must answer it 400); Node's own check answers an empty 400. */
export function lacksHost(req: IncomingMessage): boolean {
  return req.httpVersionMinor === 1 && req.httpVersionMajor === 1 && req.headers.host === undefined;
}

/** Whether a request target is under /v1/organization (in any case: its answers are the admin API's refusals). */
export function isAdminApiPath(url: string): boolean {
  const p = url.slice(0, 17).toLowerCase();
  return p.startsWith('/v1/organization') && (p.length === 16 || p[16] === '/' || p[16] === '?');
}

/**
 * Answers a request before any route sees it, in the shape of the API its path names (Anthropic's on `/v1/messages…`),
 * with a new request id, and closes the connection (its body, if any, was not read).
 */
export function refuseBeforeRoutes(req: IncomingMessage, res: ServerResponse, te: TollgateError, requestId: string, logger: Pick<Logger, 'error'>): void {
  res.setHeader('connection', 'close');
  const path = (req.url ?? '/').split('?', 1)[0];
  if (isAdminApiPath(path)) res.setHeader('cache-control', 'no-store');
  sendError(res, te, logger, requestId, answerFormat(req.method ?? 'GET', path, req.headers));
}

/** The 400 for an HTTP/1.1 request without `Host`. */
export const missingHost = (): TollgateError => new TollgateError('malformed_request', 'An HTTP/1.1 request must carry a Host header.');

/** The 417 for an `Expect` other than `100-continue` (Node's 'checkExpectation'; without a listener Node answers an empty 417). */
export const expectationFailed = (): TollgateError => new TollgateError('expectation_failed');

const IDLE = new Deadlines(250);

/**
 * Cuts a request whose body sends nothing for `idleMs` (Fastify's routes; the gateway's own body reader does the same
 * for `/v1`): 408 in OpenAI's shape, then the connection is closed. Progress is read off the socket's byte count, not
 * a 'data' listener (which would start the body flowing before Fastify's parser listens, and lose it).
 */
export function watchBodyIdle(req: IncomingMessage, res: ServerResponse, idleMs: number): void {
  const declared = req.headers['content-length'];
  if ((declared === undefined || declared === '0') && req.headers['transfer-encoding'] === undefined) return;
  const socket = req.socket;
  const every = Math.max(1, Math.min(1000, Math.floor(idleMs / 4)));
  let bytes = socket.bytesRead;
  let progressAt = performance.now();
  let cancel = () => {};
  const check = () => {
    if (req.complete || req.destroyed || res.writableEnded) return;
    const now = performance.now();
    if (socket.bytesRead !== bytes) {
      bytes = socket.bytesRead;
      progressAt = now;
    }
    if (now - progressAt < idleMs) {
      cancel = IDLE.add(every, check);
      return;
    }
    if (!res.headersSent) {
      const body = JSON.stringify(errorBody(new TollgateError('request_timeout')));
      res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body, () => socket.destroy());
    } else socket.destroy();
  };
  cancel = IDLE.add(every, check);
  req.once('close', () => cancel());
}
