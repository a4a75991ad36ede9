import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, TollgateError } from '../../core/errors.js';
import { Deadlines } from '../gateway/deadlines.js';
import { REQUEST_ID_HEADER } from './request-id.js';

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
  const body = JSON.stringify(errorBody(te));
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[te.status] ?? 'Bad Request';
  return `HTTP/1.1 ${te.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nconnection: close\r\n\r\n${body}`;
}

/** Node's `clientError` listener: answers in OpenAI's shape, with a request id, when the socket can still take it. */
export function onClientError(err: Error & { code?: string }, socket: Duplex, requestId: string): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.end(clientErrorAnswer(err, requestId));
  else socket.destroy();
}

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
