import { foldName, membersInAnyCase } from './member-case.js';
// What a request may cost before it runs: TPM reservations and budget reservations are settled to the real usage
// afterwards. Both read the body in one walk (inputBound), which counts what each reads the same way: text, images at a
// per-image allowance, and input by reference (named, not carried) noted. The TPM estimate measures text by its length
// (≈4 characters per token, erring high for code and JSON), a hard cap's bound by its UTF-8 bytes; output from
// max_tokens / max_completion_tokens / max_output_tokens, else a configured default (TPM) or the model's largest answer.

export interface TokenEstimate {
  input: number;
  output: number;
}

/** The usual estimate of a request (estimateTokens), for TPM limits. */
export interface UsualEstimate extends TokenEstimate {
  /**
   * Whether the body names input it does not carry (as TokenBound's `byReference`): its real input may be anything up
   * to the model's largest, which `input` does not count.
   */
  byReference: boolean;
  /**
   * The input counted with each image at the model's most (`imageTokens`) instead of USUAL_IMAGE_TOKENS: what a TPM
   * limit reserves up to, at most its whole (images never make a request "too large" for a limit that fits its text).
   */
  inputAtMost: number;
}

/**
 * An image's usual input tokens, which a TPM limit counts (as OpenAI's limiter counts a typical image, not the most a
 * large one may cost): a 1024×1024 image at high detail on gpt-4o.
 */
export const USUAL_IMAGE_TOKENS = 765;

// The walk below runs on every request of a key with TPM or a budget: plain loops over the parsed JSON (for…in sees
// exactly the own keys of a JSON.parse object), not Object.entries and reduce, which allocate for every object.

/**
 * How many answers a request has generated and billed: `n`, or the legacy completions' `best_of` (its candidates are
 * generated and billed, though only `n` come back), whichever is more, for each of its prompts (promptsAsked); a count
 * sent as a numeric string counts too (OpenAI refuses one, but OpenAI-compatible servers that coerce types run it).
 * Not capped at OpenAI's 128: a compatible server may run more, and a larger reservation only refuses sooner.
 */
export function answersAsked(body: Record<string, unknown>): number {
  let most = 1;
  for (const v of [body.n, body.best_of]) {
    const count = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : 1;
    if (count > most) most = count;
  }
  return Math.ceil(most) * promptsAsked(body.prompt);
}

/**
 * Prompts a legacy completion runs: its `prompt` may be an array of strings or of token arrays, each completed on its
 * own (`n` and `best_of` apply to each: OpenAI API reference, "Create completion"). An array of numbers alone is one
 * prompt given as token ids; any other array counts its items (a mixed one included, erring high). Other endpoints'
 * `prompt` is a string or an object (the Responses API's stored prompt): one.
 */
export function promptsAsked(prompt: unknown): number {
  if (!Array.isArray(prompt) || prompt.length === 0) return 1;
  for (let i = 0; i < prompt.length; i++) if (typeof prompt[i] !== 'number') return prompt.length;
  return 1;
}

/**
 * The output limit a body declares: the largest of max_completion_tokens, max_tokens and max_output_tokens, so that a
 * body setting two of them differently is reserved for the one an upstream may honour (an OpenAI-compatible server
 * that reads only max_tokens); undefined when none is a positive number.
 */
export function declaredMaxOutput(body: Record<string, unknown>): number | undefined {
  let most: number | undefined;
  for (const v of [body.max_completion_tokens, body.max_tokens, body.max_output_tokens]) {
    if (typeof v === 'number' && v > 0 && (most === undefined || v > most)) most = v;
  }
  return most;
}

/**
 * Top-level members that are no prompt text (the model, how to answer, what to stream, labels): left out of the
 * estimate. Every other member is read as input: the messages or input, and beside them the instructions, the system
 * prompt, the tools' definitions, response formats, a stored prompt's variables (a TPM limit read only the messages
 * and was escaped 250-fold by 16 KB of `instructions` or a tool's description: found by an outside review).
 */
const NOT_PROMPT_TEXT: ReadonlySet<string> = new Set([
  'model',
  'stream',
  'stream_options',
  'metadata',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'store',
  'service_tier',
  'logit_bias',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'n',
  'best_of',
  'temperature',
  'top_p',
  'top_k',
  'seed',
  'suffix',
]);

/**
 * Upper-leaning token estimate of a request body, for TPM limits (as OpenAI's own limiter reckons: its text at four
 * characters a token, and max_tokens): every member that is prompt text (not NOT_PROMPT_TEXT), each image part at
 * USUAL_IMAGE_TOKENS whatever its bytes (and at `imageTokens`, the hard cap's allowance, in `inputAtMost`), and whether it names input by reference
 * (the hard cap's rule), which the caller reserves apart (an image or a stored response counted as nothing let a 1,000
 * TPM limit admit 1.3M tokens at once: found by an outside review).
 */
export function estimateTokens(body: Record<string, unknown> | null, endpoint: string, defaultMaxOutput: number, imageTokens: number = IMAGE_PART_TOKENS): UsualEstimate {
  if (!body) return { input: 0, output: 0, byReference: false, inputAtMost: 0 };
  const walk: Walk = { cacheWrites: false, byReference: false, images: 0, bytes: false };
  let chars = objectBound(body, 0, true, false, walk);
  // A legacy completion's `suffix` is read with each of its prompts.
  if (body.suffix !== undefined) chars += inputBound(body.suffix, 'suffix', 1, false, walk) * promptsAsked(body.prompt);
  const text = Math.ceil(chars / 4) + (Array.isArray(body.messages) ? 3 * body.messages.length + 3 : 0);
  const input = text + walk.images * Math.min(USUAL_IMAGE_TOKENS, imageTokens);
  const inputAtMost = text + walk.images * imageTokens;
  const byReference = walk.byReference;
  if (endpoint === '/embeddings') return { input, output: 0, byReference, inputAtMost };
  const declared = declaredMaxOutput(body);
  const n = answersAsked(body);
  return { input, output: (declared ?? defaultMaxOutput) * n, byReference, inputAtMost };
}

/** Input tokens reserved for an image part under a hard cap (a high-detail image costs any current model less). */
export const IMAGE_PART_TOKENS = 6_000;

/**
 * Input tokens reserved for the system prompt a provider adds when a request offers tools, which the body does not
 * carry: Anthropic's tool-use prompt (346 tokens for Claude 4 models), its computer-use, bash and text-editor tools'
 * own prompts and definitions (about 2,200 together); OpenAI's rendering of functions adds a few dozen.
 */
export const TOOL_PROMPT_TOKENS = 4_000;

/** The most a request's tokens may be: boundTokens. */
export interface TokenBound extends TokenEstimate {
  /**
   * Whether the body asks for prompt caching (Anthropic's `cache_control`, on a block, a tool, the system prompt or
   * the whole request): its input may then be billed as cache writes, at up to twice the input rate.
   */
  cacheWrites: boolean;
  /**
   * Whether the body names input the gateway cannot measure (inputByReference): `input` is then the model's largest
   * input, which no request can exceed.
   */
  byReference: boolean;
}

/** What a walk of the body noticed besides its size. */
interface Walk {
  cacheWrites: boolean;
  byReference: boolean;
  /** Image parts met: each is counted at the model's image allowance (imagePartTokens), not by its bytes. */
  images: number;
  /**
   * How text is measured: true for the hard cap's bound (UTF-8 bytes, and a unit for every value and container), false
   * for the usual estimate (characters, a number as four: a token id is one token).
   */
  bytes: boolean;
}

/**
 * Input tokens one image may cost the model at most: IMAGE_PART_TOKENS, but for gpt-4o-mini (and its snapshots), which
 * bills an image at its tiles' tokens multiplied (2,833 + 5,667 a tile: 48,169 for a high-detail 768×2048 image;
 * found by a review, the 6,000 allowance fell 8× short).
 */
export function imagePartTokens(model: string | null): number {
  if (model === null) return IMAGE_PART_TOKENS;
  const base = /^(gpt-4o-mini)(?:-\d{4}-\d\d-\d\d)?$/.exec(model);
  return base ? GPT_4O_MINI_IMAGE_TOKENS : IMAGE_PART_TOKENS;
}

/** gpt-4o-mini's largest image: 2,833 base tokens and 5,667 a tile for the 8.5 tiles of 768×2048 ("high" detail). */
const GPT_4O_MINI_IMAGE_TOKENS = 48_169;

/**
 * Members whose (non-empty) value names input the provider reads from elsewhere, or carries it in a form whose tokens
 * its bytes do not bound, wherever they stand in a body: a stored response or conversation (OpenAI's Responses API),
 * a file by id or URL (`input_file`, Chat Completions' `file`, Anthropic's `file` sources and `container_upload`), a
 * file inline (a PDF's pages are billed as images and text, whatever its bytes), a stored skill, and encrypted content
 * handed back (reasoning, compaction, Anthropic's search results), which stands for tokens the gateway cannot count.
 */
const REFERENCE_MEMBERS: ReadonlySet<string> = new Set([
  'previous_response_id',
  'conversation',
  'file_id',
  'file_ids',
  'file_url',
  'file_data',
  'skill_id',
  'encrypted_content',
]);

/** Block and item types that stand for input the body does not carry (see REFERENCE_MEMBERS); `file_id`: `{type: "file_id", id}`. */
const REFERENCE_TYPES: ReadonlySet<string> = new Set(['item_reference', 'skill_reference', 'container_upload', 'reasoning', 'compaction', 'redacted_thinking', 'file_id']);

/**
 * Whether member `k` of value `v` names input by reference: a string in REFERENCE_MEMBERS, a `url` other than an
 * inline image's, `file_ids`, a Chat Completions audio answer handed back by its `id`. A name in another case counts
 * too: an upstream matching names without regard to case (Go's encoding/json, which also folds the Kelvin sign and ſ)
 * reads `File_ID` as `file_id`; the request's top-level members are refused so (core/request-model.ts), nested ones
 * are not. Only the value each API gives such a member is looked for, so a tool's schema naming a `file_id` property
 * (an object) is not one.
 */
function namesReference(k: string, v: unknown): boolean {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === '') return false;
  const name = foldName(k);
  if (typeof v === 'string') return REFERENCE_MEMBERS.has(name) || (name === 'url' && !v.startsWith('data:image/'));
  if (Array.isArray(v)) return name === 'file_ids' && v.length > 0;
  // An assistant message's `audio: { id }` hands an earlier spoken answer back by reference (Chat Completions).
  return name === 'audio' && typeof (v as Record<string, unknown>).id === 'string';
}

/** Block types whose `input` is the arguments a model called a tool with (its own output), not input it reads. */
const TOOL_CALLS: ReadonlySet<string> = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

/**
 * Whether member `k` of `o` holds data that is sent as it stands and never read from elsewhere, whatever its names: a
 * JSON schema (a tool's, a structured output's), metadata, a tool call's arguments. References are not looked for in
 * it, so that a schema's `url` property or a call's `{ "file_id": … }` arguments do not make a request one.
 */
function isLiteral(o: Readonly<Record<string, unknown>>, k: string): boolean {
  if (k === 'input_schema' || k === 'parameters' || k === 'schema' || k === 'metadata') return true;
  return k === 'input' && typeof o.type === 'string' && TOOL_CALLS.has(o.type);
}

/**
 * Input tokens of a body, counted so that the real count cannot be higher: every token of OpenAI's byte-level
 * tokenizers is at least one byte, so a text's UTF-8 length bounds its tokens. Every string and key of the body is
 * counted (messages, instructions, tools and their schemas, …), an image part as IMAGE_PART_TOKENS whatever its
 * bytes or where they come from (its tokens follow its pixels, which the provider scales down, not its bytes), inline
 * audio as its (base64) bytes. Input the body names but does not carry is noted in `walk.byReference`, outside
 * `literal` data (isLiteral).
 */
function inputBound(v: unknown, key: string, depth: number, literal: boolean, walk: Walk): number {
  if (typeof v === 'string') {
    if (key === 'image_url' || (key === 'url' && v.startsWith('data:image/'))) {
      walk.images++;
      return 0;
    }
    return walk.bytes ? Buffer.byteLength(v, 'utf8') + 1 : v.length;
  }
  if (v === null || typeof v !== 'object') return walk.bytes ? 1 : typeof v === 'number' ? 4 : 0;
  // Deeper than any prompt nests: counted whole (the body was parsed at this depth, so it serialises at it too), and
  // not looked into for references: taken for one, as what a body hides this deep is no plain prompt.
  if (depth > 64) {
    const text = JSON.stringify(v);
    if (text.includes('"cache_control"')) walk.cacheWrites = true;
    if (!literal) walk.byReference = true;
    return walk.bytes ? Buffer.byteLength(text, 'utf8') : text.length;
  }
  if (Array.isArray(v)) {
    let n = walk.bytes ? 1 : 0;
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      // An item given only by its id (OpenAI's item reference, whose `type` may be left out or null).
      if (!literal && item !== null && typeof item === 'object' && !Array.isArray(item)) {
        const o = membersInAnyCase(item as Record<string, unknown>, DECIDING_MEMBERS);
        if (typeof o.id === 'string' && (o.type === undefined || o.type === null) && (o.content === undefined || o.content === null)) walk.byReference = true;
      }
      n += inputBound(item, key, depth + 1, literal, walk);
    }
    return n;
  }
  return objectBound(v as Record<string, unknown>, depth, false, literal, walk);
}

/** The image details whose tokens IMAGE_PART_TOKENS bounds: OpenAI's `low`, `high` and `auto` (and none given). */
const BOUNDED_DETAILS: ReadonlySet<unknown> = new Set([undefined, null, 'low', 'high', 'auto']);
const beyondAllowance = (detail: unknown): boolean => !BOUNDED_DETAILS.has(detail);

/**
 * Whether an object is an image part, however it gives its image (inline, by URL, by file id): OpenAI's chat and
 * Responses parts, Anthropic's image blocks.
 */
export function isImagePart(o: { type?: unknown; source?: unknown }): boolean {
  const type = o.type;
  return type === 'image_url' || type === 'input_image' || (type === 'image' && o.source !== null && typeof o.source === 'object');
}

/**
 * The members of a block or item the walk decides on, read in any case outside literal data (member-case.ts): an
 * upstream matching names without regard to case reads `{"Type": "input_image", "Detail": "original"}` as an image at
 * its own resolution, `{"Type": "item_reference", "ID": …}` as a reference, `"Cache_Control"` as caching.
 */
const DECIDING_MEMBERS: ReadonlySet<string> = new Set(['type', 'id', 'content', 'source', 'detail', 'image_url', 'cache_control']);

/** An object's member, read in any case unless it is literal data (a schema's properties may be named anyhow). */
const decidingMembers = (o: Record<string, unknown>, literal: boolean): Readonly<Record<string, unknown>> => (literal ? o : membersInAnyCase(o, DECIDING_MEMBERS));

/**
 * inputBound of an object; `top` leaves out the body's members that are not input (model, stream, stream_options; for
 * the usual estimate every member NOT_PROMPT_TEXT names).
 */
function objectBound(o: Record<string, unknown>, depth: number, top: boolean, literal: boolean, walk: Walk): number {
  const m = decidingMembers(o, literal);
  const type = m.type;
  // An image part: one allowance, not its bytes (a 2 MB data URL is still one image). Anthropic's image blocks too.
  if (isImagePart(m)) {
    if (m.cache_control !== undefined && m.cache_control !== null) walk.cacheWrites = true;
    // A detail other than OpenAI's low, high and auto (GPT-5.4's `original`, a detail yet to come) keeps the image's
    // own resolution, which the allowance does not bound: reserved as input the body does not measure.
    const imageUrl = m.image_url !== null && typeof m.image_url === 'object' && !Array.isArray(m.image_url) ? decidingMembers(m.image_url as Record<string, unknown>, literal) : null;
    if (!literal && (beyondAllowance(m.detail) || beyondAllowance(imageUrl?.detail))) walk.byReference = true;
    walk.images++;
    return 0;
  }
  if (!literal && typeof type === 'string') {
    if (REFERENCE_TYPES.has(type)) walk.byReference = true;
    // Anthropic's documents: a PDF (inline, by URL or by file) is billed by its pages; only a text or content source
    // is the text it carries.
    else if (type === 'document') {
      const source = m.source !== null && typeof m.source === 'object' && !Array.isArray(m.source) ? decidingMembers(m.source as Record<string, unknown>, false) : null;
      if (!source || (source.type !== 'text' && source.type !== 'content')) walk.byReference = true;
    }
  }
  let n = walk.bytes ? 1 : 0;
  for (const k in o) {
    const v = o[k];
    if (top) {
      if (walk.bytes ? k === 'model' || k === 'stream' || k === 'stream_options' : NOT_PROMPT_TEXT.has(k)) continue;
      // A reusable prompt of the Responses API, stored by OpenAI and named by its id (the legacy completions' `prompt`
      // is text or tokens, never an object), and a stored conversation named by an object (`{ "id": … }`).
      if ((k === 'prompt' || k === 'conversation') && v !== null && typeof v === 'object' && !Array.isArray(v)) walk.byReference = true;
    }
    if ((literal ? k : foldName(k)) === 'cache_control' && v !== null && v !== undefined) walk.cacheWrites = true;
    // The body's own members are never a tool call's literal input (a top-level `type` would make its `input` one).
    const inner = literal || (top ? k === 'metadata' : isLiteral(m, k));
    if (!inner && !walk.byReference && namesReference(k, v)) walk.byReference = true;
    // The usual estimate leaves the body's own member names out (`messages`, `input`), as it always has.
    n += (walk.bytes ? Buffer.byteLength(k, 'utf8') : top ? 0 : k.length) + inputBound(v, k, depth + 1, inner, walk);
  }
  return n;
}

/**
 * What a request may cost at most, in tokens, for a budget with a hard cap: input bounded from above (inputBound),
 * or the model's largest input (`modelMaxInput`) when the body names input it does not carry, plus TOOL_PROMPT_TOKENS
 * when it offers tools; output the declared max_tokens / max_completion_tokens / max_output_tokens, else the model's
 * largest answer, times the answers asked for (answersAsked: `n` or `best_of`, for each prompt); and whether that
 * input may be billed as cache writes.
 */
export function boundTokens(
  body: Record<string, unknown> | null,
  endpoint: string,
  modelMaxOutput: number,
  modelMaxInput: number,
  imageTokens: number = IMAGE_PART_TOKENS,
): TokenBound {
  if (!body) return { input: 0, output: 0, cacheWrites: false, byReference: false };
  const walk: Walk = { cacheWrites: false, byReference: false, images: 0, bytes: true };
  let input = objectBound(body, 0, true, false, walk);
  // A legacy completion's `suffix` is read with each of its prompts; the walk counted it once.
  const prompts = promptsAsked(body.prompt);
  if (prompts > 1 && body.suffix !== undefined) input += (prompts - 1) * inputBound(body.suffix, 'suffix', 1, false, walk);
  input += walk.images * imageTokens;
  if (walk.byReference) input = Math.max(input, modelMaxInput);
  if (offersTools(body.tools) || offersTools(body.functions)) input += TOOL_PROMPT_TOKENS;
  const { cacheWrites, byReference } = walk;
  if (endpoint === '/embeddings') return { input, output: 0, cacheWrites, byReference };
  const declared = declaredMaxOutput(body);
  const n = answersAsked(body);
  return { input, output: (declared ?? modelMaxOutput) * n, cacheWrites, byReference };
}

function offersTools(tools: unknown): boolean {
  return tools !== null && tools !== undefined && (!Array.isArray(tools) || tools.length > 0);
}
