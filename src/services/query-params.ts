import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { text } from './text-fields.js';
import { parseInput } from './validation.js';

// Query-string parameters of the Admin API, parsed strictly: a parameter the route does not know is a 400
// unknown_parameter naming it (a silently dropped filter returns the wrong data, which is worse than an error).
// Values arrive as strings, or as arrays when a key repeats; OpenAI's SDKs send arrays as `name[]=a&name[]=b`.

/**
 * A count in a query string: plain decimal digits, as OpenAI's integer parameters are written, or null. Number() took
 * 0x2, 0b10, 0o2, 2e0, " 2" and 2.0 as 2; a leading zero (02) is refused too, not being how an integer is written.
 */
export function decimalCount(v: string): number | null {
  return /^(?:0|[1-9]\d{0,8})$/.test(v) ? Number(v) : null;
}

/** `limit`: an integer from 1 to 100. */
export const LimitParam = text({ max: 32 }).transform((v, ctx) => {
  const n = decimalCount(v);
  if (n === null || n < 1 || n > 100) {
    ctx.addIssue({ code: 'custom', message: 'expected an integer from 1 to 100.' });
    return z.NEVER;
  }
  return n;
});

/** `after`: an object id; empty means none. */
export const AfterParam = text({ max: 256 });

/** `true` or `false`. */
export const BoolParam = z.enum(['true', 'false']).transform((v) => v === 'true');

/** `asc` or `desc`. */
export const OrderParam = z.enum(['asc', 'desc']);

const StringList = z.union([text({ max: 1024 }), z.array(text({ max: 1024 })).max(1000)]);

/** The two spellings of an array parameter, `name` and `name[]`, for a strict object's shape. */
export function listParam<N extends string>(name: N) {
  return { [name]: StringList.optional(), [`${name}[]`]: StringList.optional() } as Record<N | `${N}[]`, z.ZodOptional<typeof StringList>>;
}

/**
 * The values of an array parameter given as `name`, `name[]` or both, repeated or as `a,b` (as the Usage API reads its
 * lists, services/usage-params.ts): a comma is in no id, address or event type, so `emails=a@x.com,b@x.com` is two
 * addresses, not one that matches nobody. Blanks around a value are dropped; given but empty is an empty list.
 */
export function listValues(query: Record<string, unknown>, name: string): string[] | null {
  const out: string[] = [];
  let given = false;
  for (const key of [name, `${name}[]`]) {
    const v = query[key];
    if (v === undefined) continue;
    given = true;
    for (const item of Array.isArray(v) ? (v as string[]) : [v as string]) out.push(...item.split(',').map((s) => s.trim()).filter(Boolean));
  }
  return given ? out : null;
}

/** `limit` and `after`, the cursor pair of every list. */
export const pageParams = { limit: LimitParam.optional(), after: AfterParam.optional() };

/** Parses a query with a strict schema (unknown parameter: 400 unknown_parameter; bad value: 400 invalid_value). */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseInput(schema, query ?? {});
}

/** A route without query parameters: refuses any. */
export const NoQuery = z.strictObject({});

/** A route without a body (DELETE, archive): refuses any member, accepts no body or `{}`. */
export const NoBody = z.strictObject({});

/** The page a parsed `limit`/`after` pair asks for. */
export function pageOf(q: { limit?: number; after?: string }, defaultLimit = 20): { limit: number; after: string | null } {
  return { limit: q.limit ?? defaultLimit, after: q.after ? q.after : null };
}

/**
 * Refuses any query parameter outside `allowed` (400 unknown_parameter naming it), for the few routes whose services
 * read their query by hand: a filter that is not applied must not be dropped silently.
 */
export function refuseUnknownParams(query: unknown, allowed: readonly string[]): Record<string, unknown> {
  const q = (query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(q)) {
    if (!allowed.includes(key)) throw new TollgateError('unknown_parameter', `Unrecognized request argument supplied: ${key}`, key);
  }
  return q;
}
