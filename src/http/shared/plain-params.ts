import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../../core/errors.js';
import { plainTextProblem } from '../../core/plain-text.js';

/**
 * Refuses a path or query parameter holding a character no stored text may hold (core/plain-text.ts), before any
 * route looks it up: `?after=proj_%00` was a 500 on PostgreSQL, which cannot compare text with U+0000 (issue 16 §2a).
 * Bodies are checked by their schemas (services/text-fields.ts).
 */
export function installPlainParams(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    check(request.params, 'path');
    check(request.query, 'query');
  });
}

function check(values: unknown, where: 'path' | 'query'): void {
  if (!values || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (typeof one !== 'string') continue;
      const problem = plainTextProblem(one);
      if (problem) throw new TollgateError('invalid_value', `Invalid value for ${where} parameter '${name}': ${problem}.`, name);
    }
  }
}
