import type { FastifyError, FastifyInstance } from 'fastify';
import { errorBody, invalidUrl, TollgateError } from '../../core/errors.js';
import { errorBodyFor } from './request-id.js';

/** Maps every failure to OpenAI's error shape and status; unexpected errors are logged, never echoed. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | TollgateError, request, reply) => {
    const te = toTollgateError(err);
    if (te.status >= 500) request.log.error({ err }, 'request failed');
    reply.code(te.status).headers(te.headers).header('content-type', 'application/json; charset=utf-8').send(errorBodyFor(te, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    // OpenAI's words, as the gateway's (core/errors.ts invalidUrl): one spelling of an unknown URL on every path.
    const te = invalidUrl(request.method, request.url.split('?')[0]);
    reply.code(404).send(errorBody(te));
  });
}

function toTollgateError(err: FastifyError | TollgateError): TollgateError {
  if (err instanceof TollgateError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TollgateError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TollgateError('unsupported_media_type', 'Unsupported Content-Type; send application/json.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TollgateError('invalid_json');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new TollgateError('invalid_value', 'Malformed request URL.');
  }
  if (err.statusCode === 400 && /JSON|prototype|constructor/i.test(err.message)) {
    return new TollgateError('invalid_json', `We could not parse the JSON body of your request. ${err.message}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code = err.statusCode === 413 ? 'payload_too_large' : err.statusCode === 405 ? 'method_not_allowed' : 'invalid_value';
    return new TollgateError(code, err.message);
  }
  return new TollgateError('internal_error');
}
