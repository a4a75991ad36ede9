import { refuse } from './echo-wire.js';

// The validations OpenAI's API applies to a model request's body, in its words (missing, mistyped, out-of-range and
// unknown parameters), so that the built-in model refuses what OpenAI would refuse instead of answering 200.

type Body = Record<string, unknown>;

/** The parameters OpenAI's published specification lists for each endpoint's request body (openapi.yaml). */
export const KNOWN_PARAMETERS = {
  chat: new Set(
    'model messages metadata top_logprobs temperature top_p user safety_identifier prompt_cache_key prompt_cache_retention prompt_cache_options service_tier modalities verbosity reasoning_effort max_completion_tokens frequency_penalty presence_penalty web_search_options response_format audio store moderation stream stop logit_bias logprobs max_tokens n prediction seed stream_options tools tool_choice parallel_tool_calls function_call functions'.split(
      ' ',
    ),
  ),
  completions: new Set(
    'model prompt best_of echo frequency_penalty logit_bias logprobs max_tokens n presence_penalty seed stop stream stream_options suffix temperature top_p user'.split(' '),
  ),
  embeddings: new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']),
  responses: new Set(
    'model input metadata top_logprobs temperature top_p user safety_identifier prompt_cache_key prompt_cache_retention prompt_cache_options previous_response_id background max_tool_calls text tools tool_choice prompt service_tier truncation reasoning include parallel_tool_calls store instructions moderation stream stream_options conversation context_management max_output_tokens'.split(
      ' ',
    ),
  ),
} as const;

/** How OpenAI's messages name a JSON value's type ("expected an array, but got a string instead"). */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  return typeof v === 'string' ? 'a string' : typeof v === 'boolean' ? 'a boolean' : typeof v;
}

const invalidType = (param: string, expected: string, v: unknown): never =>
  refuse('invalid_type', `Invalid type for '${param}': expected ${expected}, but got ${typeName(v)} instead.`, param);

/** Refuses a parameter the endpoint does not have. */
export function checkKnown(body: Body, known: ReadonlySet<string>): void {
  for (const name in body) if (!known.has(name)) refuse('unknown_parameter', `Unrecognized request argument supplied: ${name}`, name);
}

/** The value of a required parameter (400 missing_required_parameter when absent). */
export function required(body: Body, name: string): unknown {
  const v = body[name];
  if (v === undefined || v === null) refuse('missing_required_parameter', `Missing required parameter: '${name}'.`, name);
  return v;
}

/** A non-empty array. */
export function nonEmptyArray(v: unknown, param: string): unknown[] {
  if (!Array.isArray(v)) return invalidType(param, 'an array', v);
  if (v.length === 0) refuse('empty_array', `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param);
  return v;
}

/** An optional boolean. */
export function optionalBoolean(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') invalidType(name, 'a boolean', v);
  return v as boolean;
}

/** An optional integer within [min, max]. */
export function optionalInteger(body: Body, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return invalidType(name, 'an integer', v);
  if (v < min) refuse('invalid_value', `Invalid '${name}': integer below minimum value. Expected a value >= ${min}, but got ${v} instead.`, name);
  if (v > max) refuse('invalid_value', `Invalid '${name}': integer above maximum value. Expected a value <= ${max}, but got ${v} instead.`, name);
  return v;
}

/** An optional number within [min, max]. */
export function optionalNumber(body: Body, name: string, min: number, max: number): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return invalidType(name, 'a number', v);
  if (v < min) refuse('invalid_value', `Invalid '${name}': decimal below minimum value. Expected a value >= ${min}, but got ${v} instead.`, name);
  if (v > max) refuse('invalid_value', `Invalid '${name}': decimal above maximum value. Expected a value <= ${max}, but got ${v} instead.`, name);
  return v;
}

/** An optional string among `values`. */
export function optionalEnum<T extends string>(body: Body, name: string, values: readonly T[]): T | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return invalidType(name, 'a string', v);
  if (!(values as readonly string[]).includes(v)) {
    const list = values.map((x) => `'${x}'`);
    const said = list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list.at(-1)}` : list[0];
    refuse('invalid_value', `Invalid value: '${v.slice(0, 100)}'. Supported values are: ${said}.`, name);
  }
  return v as T;
}

/** The tiers a request may ask for, per endpoint (the specification's ServiceTier and ServiceTierResponses). */
export const SERVICE_TIERS = {
  chat: ['auto', 'default', 'flex', 'scale', 'priority', 'fast'],
  responses: ['auto', 'default', 'flex', 'scale', 'priority', 'fast', 'ultrafast'],
} as const;

/**
 * The tier the built-in model answers it ran at: the one asked for, as OpenAI's answers name it ('auto' or none:
 * 'default'; 'fast': 'priority', which the specification says the answer shows for either). Refuses a tier the
 * endpoint does not have, in OpenAI's words.
 */
export function servedServiceTier(body: Body, tiers: readonly string[]): string {
  const asked = optionalEnum(body, 'service_tier', tiers);
  if (asked === undefined || asked === 'auto') return 'default';
  return asked === 'fast' ? 'priority' : asked;
}

/** An optional object. */
export function optionalObject(body: Body, name: string): Body | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) return invalidType(name, 'an object', v);
  return v as Body;
}

/** `stream` and `stream_options` as OpenAI checks them: options only on a stream. Returns whether to stream. */
export function streamParameters(body: Body): { stream: boolean; includeUsage: boolean } {
  const stream = optionalBoolean(body, 'stream') === true;
  const options = optionalObject(body, 'stream_options');
  if (options && !stream) refuse('invalid_value', "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  const includeUsage = options?.include_usage;
  if (includeUsage !== undefined && typeof includeUsage !== 'boolean') invalidType('stream_options.include_usage', 'a boolean', includeUsage);
  return { stream, includeUsage: includeUsage === true };
}

/** The sampling parameters every text endpoint shares: accepted in their ranges (the echo answers the same at any). */
export function samplingParameters(body: Body): void {
  optionalNumber(body, 'temperature', 0, 2);
  optionalNumber(body, 'top_p', 0, 1);
  optionalNumber(body, 'frequency_penalty', -2, 2);
  optionalNumber(body, 'presence_penalty', -2, 2);
}
