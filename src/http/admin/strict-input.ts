import type { FastifyRequest } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { NoBody, NoQuery, parseQuery } from '../../services/query-params.js';
import { parseInput } from '../../services/validation.js';

// Route hooks for the parts of a request a route takes none of: a query parameter or body member there is a 400
// unknown_parameter naming it, never ignored. Lists parse their own queries (their services own the schema).

/** preValidation: refuses any query parameter. */
export async function refuseQuery(request: FastifyRequest): Promise<void> {
  parseQuery(NoQuery, request.query);
}

/** preValidation: refuses any query parameter and any body member (DELETE, archive). */
export async function refuseQueryAndBody(request: FastifyRequest): Promise<void> {
  parseQuery(NoQuery, request.query);
  parseInput(NoBody, request.body ?? {});
}

/**
 * onRequest: refuses a GET or HEAD that carries a body (a length other than 0, or chunked). Fastify reads no body of
 * theirs, so filters sent in one (`{"limit":1}`, or JSON that does not parse) were dropped and the whole list answered;
 * the gateway refuses such a request too (http/gateway/proxy.ts), and a DELETE's body is checked (refuseQueryAndBody).
 */
export async function refuseReadBody(request: FastifyRequest): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return;
  const length = request.headers['content-length'];
  if (request.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return;
  throw new TollgateError('invalid_value', `${request.method} requests take no body; send the parameters in the query string, as the API documents them.`, null);
}
