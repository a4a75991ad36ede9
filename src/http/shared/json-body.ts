import type { FastifyInstance, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { TollgateError } from '../../core/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received (forwarded upstream as-is; signatures are checked over it). */
    rawBody?: Buffer;
  }
}

/**
 * JSON parser that keeps the raw bytes, refuses prototype-pollution keys, and accepts an empty body
 * (OpenAI's own curl examples send Content-Type: application/json on GET and DELETE).
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  const parse = (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      request.rawBody = body;
      if (body.length === 0) return done(null, undefined);
      try {
        done(null, sjson.parse(body.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }));
      } catch (err) {
        done(new TollgateError('invalid_json', `We could not parse the JSON body of your request: ${(err as Error).message}`));
      }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse);
  app.addContentTypeParser(/^application\/[\w.-]+\+json/, { parseAs: 'buffer' }, parse);
}
