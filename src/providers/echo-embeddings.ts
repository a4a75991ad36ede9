import { createHash } from 'node:crypto';
import { countTokens, decodeTokens } from '../core/tokenizer.js';
import { checkKnown, KNOWN_PARAMETERS, optionalEnum, optionalInteger, required, typeName } from './echo-checks.js';
import { json, refuse } from './echo-wire.js';
import type { UpstreamResponse } from '../core/upstream.js';

// `POST /embeddings` of the built-in model: deterministic unit vectors of 1536 dimensions (as text-embedding-3-small),
// shortened by `dimensions` as OpenAI shortens its text-embedding-3 vectors (the first N, renormalised), and sent as
// JSON numbers or, with `encoding_format: "base64"` (what the openai SDKs ask for by default), as the base64 of the
// little-endian float32 values. Both encodings carry the same float32 values.

/** The echo model's native number of dimensions. */
export const ECHO_DIMENSIONS = 1536;
/** OpenAI's bound on the inputs of one request. */
const MAX_INPUTS = 2048;

/** A deterministic unit vector for a text: a PRNG (mulberry32) seeded from its SHA-256, normalised. */
function fullVector(text: string): Float64Array {
  const h = createHash('sha256').update(text).digest();
  let state = h.readUInt32LE(0);
  const v = new Float64Array(ECHO_DIMENSIONS);
  for (let i = 0; i < ECHO_DIMENSIONS; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    v[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return v;
}

/** The first `dimensions` values, renormalised to length 1, as float32 values. */
export function echoEmbedding(text: string, dimensions = ECHO_DIMENSIONS): Float32Array {
  const full = fullVector(text);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += full[i] * full[i];
  norm = Math.sqrt(norm) || 1;
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = full[i] / norm;
  return out;
}

/** Float32 values as OpenAI's base64 encoding: little-endian, 4 bytes each. */
export function float32Base64(values: Float32Array): string {
  const buf = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], i * 4);
  return buf.toString('base64');
}

const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 200_019);

/** The inputs as texts, with their token counts: a string, strings, token ids, or arrays of token ids. */
async function inputs(input: unknown): Promise<Array<{ text: string; tokens: number }>> {
  const invalid = () =>
    refuse(
      'invalid_type',
      `Invalid type for 'input': expected one of a non-empty string, array of non-empty strings, array of integers (token ids) or array of arrays of integers, but got ${typeName(input)} instead.`,
      'input',
    );
  if (typeof input === 'string') {
    if (input === '') invalid();
    return [{ text: input, tokens: await countTokens(input) }];
  }
  if (!Array.isArray(input) || input.length === 0) return invalid();
  if (input.length > MAX_INPUTS && !isTokenIds(input)) {
    refuse('invalid_value', `Invalid 'input': array too long. Expected an array with maximum length ${MAX_INPUTS}, but got an array with length ${input.length} instead.`, 'input');
  }
  if (isTokenIds(input)) return [{ text: await decodeTokens(input), tokens: input.length }];
  if (input.every((s) => typeof s === 'string' && s !== '')) return Promise.all((input as string[]).map(async (text) => ({ text, tokens: await countTokens(text) })));
  if (input.every(isTokenIds)) return Promise.all((input as number[][]).map(async (ids) => ({ text: await decodeTokens(ids), tokens: ids.length })));
  return invalid();
}

/** `POST /embeddings`. */
export async function createEmbeddings(body: Record<string, unknown>, model: string): Promise<UpstreamResponse> {
  checkKnown(body, KNOWN_PARAMETERS.embeddings);
  const items = await inputs(required(body, 'input'));
  const format = optionalEnum(body, 'encoding_format', ['float', 'base64'] as const) ?? 'float';
  const dimensions = optionalInteger(body, 'dimensions', 1, ECHO_DIMENSIONS);
  let tokens = 0;
  const data = items.map((item, index) => {
    tokens += item.tokens;
    const vector = echoEmbedding(item.text, dimensions);
    return { object: 'embedding', index, embedding: format === 'base64' ? float32Base64(vector) : Array.from(vector) };
  });
  return json(200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}
