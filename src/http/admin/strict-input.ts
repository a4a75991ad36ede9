import type { FastifyRequest } from 'fastify';
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
