import type { z } from 'zod';
import { TollgateError } from '../core/errors.js';

/** Parses input with a zod schema; failures become a 400 in OpenAI's shape naming the parameter. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const param = [...issue.path.map(String), key].join('.');
    throw new TollgateError('unknown_parameter', `Unrecognized request argument supplied: ${param}`, param);
  }
  const param = issue.path.map(String).join('.') || null;
  // Absent: zod reports a missing enum member as invalid_value, any other as invalid_type.
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined && param) {
    throw new TollgateError('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
  }
  if (param === null && issue.code === 'invalid_type') {
    throw new TollgateError('invalid_value', 'The request body must be a JSON object.', null);
  }
  throw new TollgateError('invalid_value', `Invalid value for '${param ?? 'body'}': ${issue.message}`, param);
}
