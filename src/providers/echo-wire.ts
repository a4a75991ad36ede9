import { errorBody, TollgateError } from '../core/errors.js';
import { bufferedBody } from './body.js';
import type { UpstreamResponse } from '../core/upstream.js';

// How the echo model answers: JSON bodies, Server-Sent Events, and OpenAI's error shape for a request it refuses.

/** A JSON answer. */
export function json(status: number, body: unknown): UpstreamResponse {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: bufferedBody([Buffer.from(JSON.stringify(body))]) };
}

/** A refusal in OpenAI's error shape, with the catalogue's status for its code. */
export function refusal(err: TollgateError): UpstreamResponse {
  return json(err.status, errorBody(err));
}

/** One Server-Sent Event: `data:` only (chat, completions), or named with an `event:` line (Responses). */
export type EchoEvent = { event?: string; data: unknown } | '[DONE]';

/** A stream of events, one chunk each (delivered a turn apart, as a socket would). */
export function sse(events: EchoEvent[]): UpstreamResponse {
  const chunks = events.map((e) =>
    Buffer.from(e === '[DONE]' ? 'data: [DONE]\n\n' : `${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`),
  );
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body: bufferedBody(chunks) };
}

/** Thrown by a check to refuse the request (caught by the echo model's dispatch). */
export class EchoRefusal extends Error {
  constructor(readonly error: TollgateError) {
    super(error.message);
  }
}

export const refuse = (...args: ConstructorParameters<typeof TollgateError>): never => {
  throw new EchoRefusal(new TollgateError(...args));
};
