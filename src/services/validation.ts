import type { z } from 'zod';
import { TollgateError } from '../core/errors.js';

/** Parses input with a zod schema; failures become a 400 in OpenAI's shape naming the parameter. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = meantOption(result.error.issues[0]);
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

type Issue = z.core.$ZodIssue;

/**
 * In a union, the issue of the one option the input was meant for (the only option that did not refuse its type or
 * literal value outright), so that `{"owner": {"type": "user", "id": "…"}}` names `owner.id` and why, not just `owner`.
 */
function meantOption(issue: Issue): Issue {
  if (issue.code !== 'invalid_union') return issue;
  const meant = issue.errors.filter((errs) => {
    const first = errs[0];
    return first && !(first.path.length === 0 && (first.code === 'invalid_type' || first.code === 'invalid_value'));
  });
  if (meant.length !== 1) return issue;
  const inner = meant[0][0];
  return meantOption({ ...inner, path: [...issue.path, ...inner.path] } as Issue);
}
