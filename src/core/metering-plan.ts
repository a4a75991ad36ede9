import { memberInAnyCase } from './member-case.js';
import { isFreeOfCharge, type ModelPrice, type PriceTable, priceFor, pricesTokens, tierRates, usdToNano } from './pricing.js';

// How a forwarded request is metered, decided once before it is forwarded (docs/metering.md is the table of it).
// Every forwarded request counts against request quotas and RPM/RPD whatever its kind; this decides what it costs,
// and whether a key or project with a spend limit may send it at all: an endpoint Tollgate cannot meter, or a model
// it has no price for, would spend money no budget sees.

export type MeterKind =
  /** Billed by the tokens in the answer's `usage` (chat, completions, responses, embeddings). */
  | 'tokens'
  /** Billed per image (DALL·E) or by the tokens in the answer (GPT Image). */
  | 'image'
  /** Billed by the characters of the input text (text to speech). */
  | 'speech'
  /** Billed by the seconds of audio (whisper-1) or by the tokens in the answer (GPT-4o transcribe). */
  | 'transcription'
  /** `GET /responses/{id}`: bills a background response's result once, when it is retrieved finished. */
  | 'retrieval'
  /** Costs nothing (reads, deletes, uploads, cancellations, moderations). */
  | 'free'
  /** Costs money Tollgate cannot see (batches, fine-tuning, assistants runs, vector stores, realtime, …). */
  | 'unmetered';

export interface MeterPlan {
  kind: MeterKind;
  /** The endpoint family as docs/metering.md names it (also in refusals). */
  family: string;
  /** The model billed, or null. */
  model: string | null;
  /** The model's price (its own, else `pricing.default`), or null. */
  price: ModelPrice | null;
  /** Whether the price covers what this request is billed by; false for a metered kind means "unpriced". */
  priced: boolean;
  /**
   * Whether what the request costs may go unseen: every `unmetered` request, and a transcription whose answer reports
   * no duration (it is billed at its estimate). Refused to keys, projects and organizations with a spend limit.
   */
  unmeterable: boolean;
  /**
   * The request member that makes a model call unmeterable (`service_tier`, `speed`, `inference_geo`, `background`,
   * `prompt`, `tools`, `web_search_options`, `mcp_servers`, `context_management`, or `model` for a search model), which
   * the refusal names as its `param`; null when the endpoint itself is, or when the request is metered.
   */
  param: string | null;
  /** A background response (`"background": true`): billed when its result is retrieved, not when it is created. */
  deferred: boolean;
  /**
   * A free request a model answers (`POST /moderations`): never billed, but counted as a model request of its kind in
   * the Usage API, with the tokens its answer's usage reports (OpenAI reports moderations' requests and input tokens).
   */
  freeModelCall: boolean;
  /**
   * Units billed per request when they are known before the answer: characters (speech); for images, the `n` asked
   * for, what an answer not read (or read only at its end) is counted as.
   */
  units: number;
  /** Nano-dollars per unit the answer reports: per image (DALL·E). */
  unitNano: number;
  /** What the request may cost, nano-dollars, for the kinds the guard cannot estimate from tokens (0 otherwise). */
  estimateNano: number;
  /**
   * The service tier the request asks for whose rates it is reserved at (`priority`, `fast`, `flex`: see
   * core/pricing.ts tierRates), when the price has them; null for the standard rates. What it is billed at is the tier
   * its answer names.
   */
  tier: string | null;
  /**
   * Anthropic's fast mode (`fast`) when the request asks for it (`speed: "fast"` on /messages) and the price has fast
   * rates (core/pricing.ts `fast`): the request is reserved at them. Null otherwise. What it is billed at is the speed
   * its answer names.
   */
  speed: string | null;
}

/** The text fields of a multipart body metering reads (every value of each, in order), and its file parts by field (FORM_FILE_FIELDS). */
export interface FormValues {
  values: Readonly<Record<string, readonly string[]>>;
  files: Readonly<Record<string, number>>;
}

export interface PlanInput {
  method: string;
  /** The canonical path after `/v1`, e.g. `/chat/completions`. */
  endpoint: string;
  /** The JSON object body, or null. */
  body: Record<string, unknown> | null;
  /** The fields of a multipart body (see formFieldNames), or null: none, or one that cannot be read unambiguously. */
  form: FormValues | null;
  /** The model the request is routed to (aliases applied), from whichever body named it; null when none did. */
  model: string | null;
  /** Size of the request body in bytes (audio: the duration is estimated from it). */
  bodyBytes: number;
  prices: PriceTable;
  /** `pricing.default`: the price of models the table does not name, or null. */
  defaultPrice: ModelPrice | null;
}

const TOKEN_ENDPOINTS = new Set(['/chat/completions', '/completions', '/responses', '/embeddings', '/responses/compact', '/messages']);
const IMAGE_ENDPOINTS = new Set(['/images/generations', '/images/edits', '/images/variations']);
const TRANSCRIPTION_ENDPOINTS = new Set(['/audio/transcriptions', '/audio/translations']);

/** POSTs that cost nothing: uploads, cancellations, object updates without a model run, token counting, moderation. */
const FREE_POSTS: readonly RegExp[] = [
  /^\/moderations$/,
  /^\/responses\/input_tokens$/,
  /^\/messages\/count_tokens$/,
  /\/(cancel|pause)$/,
  /^\/files$/,
  /^\/uploads(\/[^/]+\/(parts|complete))?$/,
  /^\/chat\/completions\/[^/]+$/,
  /^\/conversations(\/[^/]+(\/items)?)?$/,
  /^\/assistants(\/[^/]+)?$/,
  // Threads and their messages, not runs (`/threads/runs` creates a thread and runs it).
  /^\/threads(\/(?!runs$)[^/]+(\/messages(\/[^/]+)?)?)?$/,
];

/** Families of the endpoints Tollgate cannot meter, by first path segment (for refusals and docs). */
const UNMETERED_FAMILIES: Readonly<Record<string, string>> = {
  batches: 'batches',
  fine_tuning: 'fine-tuning',
  threads: 'assistants runs',
  realtime: 'realtime',
  vector_stores: 'vector stores',
  containers: 'containers',
  evals: 'evals',
  videos: 'videos',
  audio: 'audio',
};

const READS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

const plan = (kind: MeterKind, family: string, o: Partial<MeterPlan> = {}): MeterPlan => ({
  kind,
  family,
  model: null,
  price: null,
  priced: kind === 'free' || kind === 'retrieval',
  unmeterable: kind === 'unmetered',
  param: null,
  deferred: false,
  freeModelCall: false,
  units: 0,
  unitNano: 0,
  estimateNano: 0,
  tier: null,
  speed: null,
  ...o,
});

/** The price of a model for metering: its own (or its snapshot's base model's), else the configured default. */
export function meteringPrice(prices: PriceTable, defaultPrice: ModelPrice | null, model: string | null): ModelPrice | null {
  if (model === null) return null;
  return priceFor(prices, model) ?? defaultPrice;
}

/** How a request is metered (see MeterKind). */
export function planMetering(i: PlanInput): MeterPlan {
  const { endpoint } = i;
  if (READS.has(i.method)) {
    return i.method === 'GET' && /^\/responses\/[^/]+$/.test(endpoint) && endpoint !== '/responses/input_tokens'
      ? plan('retrieval', 'responses')
      : plan('free', 'reads');
  }
  if (i.method !== 'POST') return unmetered(i);
  // A background response's cancellation answers the Response, with its usage when it ran (in part or to its end):
  // billed as its retrieval is, once (it was free: a result read that way was never billed, found by a review).
  if (/^\/responses\/[^/]+\/cancel$/.test(endpoint)) return plan('retrieval', 'responses');
  if (TOKEN_ENDPOINTS.has(endpoint)) return tokenPlan(i);
  if (IMAGE_ENDPOINTS.has(endpoint)) return imagePlan(i);
  if (endpoint === '/audio/speech') return speechPlan(i);
  if (TRANSCRIPTION_ENDPOINTS.has(endpoint)) return transcriptionPlan(i);
  if (endpoint === '/moderations') return plan('free', 'free', { freeModelCall: true });
  if (FREE_POSTS.some((r) => r.test(endpoint))) return spendsInFreePost(i) ? plan('unmetered', PROVIDER_VECTOR_STORES) : plan('free', 'free');
  return unmetered(i);
}

export const PROVIDER_VECTOR_STORES =
  'vector stores the provider creates for an assistant or thread (`tool_resources.file_search.vector_stores`, files attached for `file_search`)';

/** Assistants and threads, whose bodies may make the provider create a vector store. */
const ASSISTANTS_AND_THREADS = /^\/(assistants|threads)(\/|$)/;

/**
 * Whether a POST that is otherwise free makes the provider store and index files: an assistant or thread given
 * `tool_resources.file_search.vector_stores` (each a vector store created with its files), or a message (alone or in a
 * new thread) whose attachments are for `file_search` (added to the thread's vector store, created for it), both billed
 * as vector store storage as `POST /vector_stores` is. Files for `code_interpreter` cost nothing until a run (not free)
 * opens a session. Names are matched in any case (an upstream may fold them, as Go's encoding/json does). A body of
 * assistants or threads that is not a JSON object, or is nested too deeply to read, is taken to.
 */
function spendsInFreePost(i: PlanInput): boolean {
  if (!ASSISTANTS_AND_THREADS.test(i.endpoint)) return false;
  return i.body === null ? i.bodyBytes > 0 : createsVectorStore(i.body, 0);
}

function createsVectorStore(v: unknown, depth: number): boolean {
  if (depth > 64) return true;
  if (Array.isArray(v)) return v.some((x) => x !== null && typeof x === 'object' && createsVectorStore(x, depth + 1));
  if (v === null || typeof v !== 'object') return false;
  for (const key in v as Record<string, unknown>) {
    const x = (v as Record<string, unknown>)[key];
    if (x === null || typeof x !== 'object') continue;
    const name = key.toUpperCase().toLowerCase();
    if (name === 'vector_stores' && Array.isArray(x) && x.length > 0) return true;
    if (name === 'attachments' && Array.isArray(x) && x.some(isForFileSearch)) return true;
    if (name === 'metadata') continue;
    if (createsVectorStore(x, depth + 1)) return true;
  }
  return false;
}

/** Whether a message attachment names a tool other than the code interpreter (file search, or one not known). */
function isForFileSearch(attachment: unknown): boolean {
  const tools = isObject(attachment) ? memberInAnyCase(attachment, 'tools') : undefined;
  if (!Array.isArray(tools)) return false;
  return tools.some((t) => !isObjectOfType(t, 'code_interpreter'));
}

/**
 * What Tollgate cannot meter. It still carries the model's token price: a model call on a route the API does not
 * list is billed by the usage its answer reports, when it reports one (proxy.ts), for keys without a spend limit.
 */
function unmetered(i: PlanInput): MeterPlan {
  const first = i.endpoint.split('/')[1] ?? '';
  const family = Object.hasOwn(UNMETERED_FAMILIES, first) ? UNMETERED_FAMILIES[first] : `${i.endpoint || '/'}`;
  const price = meteringPrice(i.prices, i.defaultPrice, i.model);
  return plan('unmetered', family, { model: i.model, price, priced: pricesTokens(price) });
}

function tokenPlan(i: PlanInput): MeterPlan {
  const price = meteringPrice(i.prices, i.defaultPrice, i.model);
  const family = i.endpoint === '/embeddings' ? 'embeddings' : i.endpoint.startsWith('/responses') ? 'responses' : i.endpoint === '/messages' ? 'messages' : 'completions';
  // A background response runs after its answer: what it costs is only seen when its result is retrieved. Anything
  // but an absent or false `background` is taken for one (an upstream may read "true" or 1 as true). Streamed, it is
  // billed by its stream's usage (read to its end whether its client stays: proxy.ts), but it goes on at the provider
  // whatever becomes of that stream: not for budgets either.
  const background = isBackgroundResponse(i.endpoint, i.body);
  if (background && !asksToStream(i.body)) return plan('unmetered', BACKGROUND, { model: i.model, price, priced: pricesTokens(price), deferred: true, param: 'background' });
  // Hosted tools bill per call or by tokens of their own, outside the answer's usage: billed as tokens, not for budgets.
  // Anthropic's MCP connector likewise brings in tool results no body bounds, under a hard cap or not.
  // Anthropic's server-side compaction samples the model again over the whole conversation, billed beside the message.
  const hostedBy = hostingMember(i.model, i.body);
  const hosted = hostedBy !== null;
  // A response from a stored prompt (`prompt: {id: "pmpt_…"}`) runs with the tools its template was saved with, which
  // the request does not show: hosted tools among them would bill outside the answer's usage, so not for budgets.
  const prompted = !hosted && i.endpoint === '/responses' && i.body !== null && i.body.prompt !== undefined && i.body.prompt !== null;
  // A model priced at nothing costs nothing at any tier or speed (the built-in echo model): the multiples below are
  // of nothing.
  const free = isFreeOfCharge(price);
  // Anthropic's fast mode is billed at a multiple of the model's rates, which the answer's usage says it ran at: a
  // model with fast rates is reserved at them. Fast mode for a model without, any other speed or spelling (Anthropic
  // takes only `standard` and `fast`), and regional inference, billed at a multiple the price table does not model,
  // are billed at the standard rates: not for budgets.
  const messages = i.endpoint === '/messages' && i.body !== null;
  const speed = messages && i.body?.speed === 'fast' && price?.fast !== undefined ? 'fast' : null;
  const upliftedBy = hosted || free || !messages ? null : speed === null && isUplift(i.body?.speed, 'standard') ? 'speed' : isUplift(i.body?.inference_geo, 'global') ? 'inference_geo' : null;
  const uplifted = upliftedBy !== null;
  // A service tier the price has rates for is reserved at them; one dearer than the standard, or unknown, that it has
  // none for would be billed at the standard rates a budget cannot trust (docs/metering.md, "Service tiers").
  const asked = i.body === null ? undefined : i.body.service_tier;
  const tier = typeof asked === 'string' && price !== null && tierRates(price, asked) !== null ? asked : null;
  const unrated = !hosted && !uplifted && !free && tier === null && asked !== undefined && asked !== null && !billedAtMostStandard(asked, i.endpoint);
  const unmeterable = background || hosted || prompted || uplifted || unrated;
  // Every model call takes this path: one literal, no spread (measured ~0.1 µs less per request).
  return {
    kind: 'tokens',
    family: background ? BACKGROUND : hosted ? HOSTED_TOOLS : prompted ? STORED_PROMPTS : uplifted ? UPLIFTS : unrated ? UNRATED_TIERS : family,
    model: i.model,
    price,
    priced: pricesTokens(price),
    unmeterable,
    param: background ? 'background' : hosted ? hostedBy : prompted ? 'prompt' : uplifted ? upliftedBy : unrated ? 'service_tier' : null,
    deferred: false,
    freeModelCall: false,
    units: 0,
    unitNano: 0,
    estimateNano: 0,
    tier,
    speed,
  };
}

/**
 * The member of a model call that has the provider run hosted tools (billed apart from the answer's usage), or null:
 * a search model (`model`), `web_search_options`, a hosted tool in `tools`, `mcp_servers`, compaction in
 * `context_management`.
 */
function hostingMember(model: string | null, body: Record<string, unknown> | null): string | null {
  if (isSearchModel(model)) return 'model';
  if (body === null) return null;
  if (body.web_search_options !== undefined) return 'web_search_options';
  if (usesHostedTool(body.tools)) return 'tools';
  if (hasMcpServers(body.mcp_servers)) return 'mcp_servers';
  return compacts(body.context_management) ? 'context_management' : null;
}

const BACKGROUND = 'background responses';

/**
 * Whether a request creates a background response (`POST /responses` with anything but an absent, null or false
 * `background`): the provider runs it to its end whether anyone reads its answer.
 */
export function isBackgroundResponse(endpoint: string, body: Readonly<Record<string, unknown>> | null | undefined): boolean {
  if (endpoint !== '/responses' || !body) return false;
  const b = body.background;
  return b !== undefined && b !== null && b !== false;
}

/**
 * Whether a body asks for a stream as an upstream may read it: `true`, or what a server that coerces types takes for
 * it (`1`, `"true"`, `"t"`, `"1"`, `"yes"`, `"y"`, `"on"`, in any case: pydantic's). OpenAI refuses anything but a boolean; a lenient server
 * streams, and an answer planned as not streamed went unbilled (a background response's, found by an outside review).
 */
export function asksToStream(body: Readonly<Record<string, unknown>> | null | undefined): boolean {
  const s = body?.stream;
  return s === true || s === 1 || (typeof s === 'string' && /^\s*(?:true|t|yes|y|on|1)\s*$/i.test(s));
}

export const HOSTED_TOOLS =
  'hosted tools (web search or fetch, file search, code interpreter or execution, a shell in a container, image generation, MCP servers, tool search, the advisor tool, any tool not known to be client-run, server-side compaction)';

/**
 * OpenAI's search models (`gpt-4o-search-preview`, `gpt-4o-mini-search-preview`, `gpt-5-search-api`, dated or not)
 * search the web on every call, with or without `web_search_options`, and bill a fee per call beside the tokens: a
 * hosted tool (found by an outside review: such a call ran past a hard cap billed as tokens only).
 */
export function isSearchModel(model: string | null): boolean {
  return model !== null && /-search-(?:preview|api)(?:-|$)/i.test(model);
}

const STORED_PROMPTS = 'a stored prompt (`prompt`), whose template may carry hosted tools the request does not show';

/** Whether an Anthropic `context_management` asks for server-side compaction (an edit of type `compact_…`). */
function compacts(v: unknown): boolean {
  const edits = isObject(v) ? memberInAnyCase(v, 'edits') : undefined;
  if (!Array.isArray(edits)) return false;
  for (const e of edits) {
    const type = isObject(e) ? memberInAnyCase(e, 'type') : undefined;
    if (typeof type === 'string' && type.startsWith('compact')) return true;
  }
  return false;
}

/** Whether a request names MCP servers the provider calls (Anthropic's `mcp_servers`): their results are input it bills. */
const hasMcpServers = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
const UPLIFTS = "Anthropic's priced uplifts (fast mode `speed` for a model without fast rates in this gateway, regional `inference_geo`)";
const UNRATED_TIERS = 'a `service_tier` this model has no rates for in this gateway (`priority`, `fast`, `scale`, `ultrafast` or a tier it does not know)';

/**
 * Whether a requested tier is billed at most at the standard rates: the standard itself (`default`; `auto`, which runs
 * at the project's default tier: see docs/metering.md), and `flex`, half price, billed at the standard rates when the
 * price has no flex rates. Anthropic's Messages API takes `auto` and `standard_only`. Anything else, another spelling
 * of these included (OpenAI takes none), is dearer or unknown.
 */
function billedAtMostStandard(tier: unknown, endpoint: string): boolean {
  if (tier === 'auto' || tier === 'default' || tier === 'flex') return true;
  return endpoint === '/messages' && tier === 'standard_only';
}

/** Whether a member asks for something other than its standard value (absent and null are the standard). */
const isUplift = (value: unknown, standard: string): boolean => value !== undefined && value !== null && value !== standard;

/**
 * Tools the caller runs (their results come back in a later request's body, billed as its tokens), by `type`: OpenAI's
 * function, custom, computer use, local shell and apply-patch tools (openapi.yaml, the Responses API's `Tool` union);
 * Anthropic's custom tools (`custom`, or no type), bash, text editor, computer use and memory tools (versioned
 * `bash_20250124`, …). Every other tool, one this list does not know included, is taken for one the provider runs and
 * bills apart from the answer's usage: a new hosted tool cannot get past a spend limit by being new.
 */
const CLIENT_TOOLS = new Set(['function', 'custom', 'computer', 'computer_use_preview', 'local_shell', 'apply_patch']);
const CLIENT_TOOL_FAMILIES = /^(?:bash|text_editor|computer|memory)_\d{8}$/;

/**
 * Whether a `tools` list declares a tool the provider runs itself, billing it apart from tokens or bringing in results
 * no reservation can bound: OpenAI's hosted tools (web search, file search, code interpreter, image generation, remote
 * MCP, programmatic tool calling, the shell in a container it creates or was given, tool search run on its servers),
 * Anthropic's server tools (web search per search, code execution per container hour, web fetch's pages as input, tool
 * search, the MCP toolset, the advisor tool's other model), and any tool type not known to be client-run (CLIENT_TOOLS).
 * A namespace holds tools of its own, each judged so. An entry that is no object is no tool (the upstream refuses it).
 */
function usesHostedTool(tools: unknown, depth = 0): boolean {
  if (!Array.isArray(tools)) return false;
  for (const t of tools) {
    if (t === null || typeof t !== 'object' || Array.isArray(t)) continue;
    if (isHostedTool(t as Record<string, unknown>, depth)) return true;
  }
  return false;
}

// A tool's members are read in any case (member-case.ts): `{"type": "shell", "Environment": {"type": "container_auto"}}`
// was taken for a local shell, and `{"Type": "web_search"}` for a tool without a type, both forwarded to spend-limited
// keys as free, to an upstream folding names that runs them.
function isHostedTool(tool: Record<string, unknown>, depth: number): boolean {
  const type = memberInAnyCase(tool, 'type');
  // Anthropic's custom tool may leave its type out (or null); OpenAI requires one, and refuses a tool without it.
  if (type === undefined || type === null) return false;
  if (typeof type !== 'string') return true;
  if (CLIENT_TOOLS.has(type) || CLIENT_TOOL_FAMILIES.test(type)) return false;
  // The shell runs on the caller's machine only with a `local` environment; `container_auto` creates a container
  // billed per container, `container_reference` runs in one (openapi.yaml FunctionShellToolParam).
  if (type === 'shell') return !isObjectOfType(memberInAnyCase(tool, 'environment'), 'local');
  // Tool search the client runs (`execution: "client"`) is a client tool; on the provider's servers, a hosted one.
  if (type === 'tool_search') return memberInAnyCase(tool, 'execution') !== 'client';
  if (type === 'namespace') {
    const tools = memberInAnyCase(tool, 'tools');
    return depth > 4 || !Array.isArray(tools) || usesHostedTool(tools, depth + 1);
  }
  return true;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isObjectOfType = (v: unknown, type: string): boolean => isObject(v) && memberInAnyCase(v, 'type') === type;

/** One text field of either body: a JSON value, or the single value of a form field (a repeated field is unknown). */
function field(i: PlanInput, name: string): { value: unknown; known: boolean } {
  if (i.body) return { value: i.body[name], known: true };
  const values = i.form?.values[name];
  if (!i.form) return { value: undefined, known: false };
  if (!values) return { value: undefined, known: true };
  return values.length === 1 ? { value: values[0], known: true } : { value: undefined, known: false };
}

/** Images requested: `n` (1 when absent); null when it is not a whole number from 1 to 10, as OpenAI takes it. */
function imageCount(i: PlanInput): number | null {
  const n = field(i, 'n');
  if (!n.known) return null;
  if (n.value === undefined || n.value === null) return 1;
  const v = typeof n.value === 'string' && /^\d{1,2}$/.test(n.value.trim()) ? Number(n.value) : n.value;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 10 ? v : null;
}

/** Output image tokens of GPT Image models at 1024x1024, by quality (OpenAI's image generation guide); scaled by area. */
const IMAGE_TOKENS_1024: Readonly<Record<string, number>> = { low: 272, medium: 1056, high: 4160 };
/** The largest standard size, for `auto`: the estimate must not fall short. */
const LARGEST_AUTO_PIXELS = 1536 * 1024;
/** Input image tokens reserved per input image of an edit (a high-fidelity 1536x1024 image); settled to the answer. */
const INPUT_IMAGE_TOKENS = 6240;

function pixelsOf(size: unknown): number | null {
  if (size === undefined || size === null || size === 'auto') return LARGEST_AUTO_PIXELS;
  const m = typeof size === 'string' ? /^(\d{2,5})x(\d{2,5})$/.exec(size) : null;
  return m ? Number(m[1]) * Number(m[2]) : null;
}

function imagePlan(i: PlanInput): MeterPlan {
  const model = i.model;
  const price = meteringPrice(i.prices, i.defaultPrice, model);
  const n = imageCount(i);
  const base = plan('image', 'images', { model, price, units: n ?? 0 });
  if (!price || n === null) return base;
  const quality = field(i, 'quality');
  const size = field(i, 'size');
  if (!quality.known || !size.known) return base;
  if (price.images) {
    // DALL·E: a price per image of this quality and size (`auto` or absent quality: the dearest, to be safe).
    const sz = size.value ?? '1024x1024';
    const q = quality.value ?? 'standard';
    const candidates = q === 'auto' ? Object.values(price.images) : Object.hasOwn(price.images, String(q)) ? [price.images[String(q)]] : [];
    const perImage = Math.max(-1, ...candidates.map((bySize) => (typeof sz === 'string' && Object.hasOwn(bySize, sz) ? bySize[sz] : -1)));
    if (perImage < 0) return base;
    const unitNano = usdToNano(perImage);
    return { ...base, priced: true, unitNano, estimateNano: unitNano * n };
  }
  if (price.image_output !== undefined) {
    // GPT Image: output tokens by quality and size, prompt and input images by token; settled to the answer's usage.
    const q = quality.value ?? 'auto';
    const perArea = q === 'auto' ? IMAGE_TOKENS_1024.high : Object.hasOwn(IMAGE_TOKENS_1024, String(q)) ? IMAGE_TOKENS_1024[String(q)] : null;
    const pixels = pixelsOf(size.value);
    if (perArea === null || pixels === null) return base;
    // Each streamed partial image adds 100 image tokens (OpenAI's image generation guide), per image asked for.
    const partial = Number(field(i, 'partial_images').value ?? 0);
    const partials = Number.isFinite(partial) && partial > 0 ? Math.ceil(partial) : 0;
    const outputTokens = (Math.ceil((perArea * pixels) / (1024 * 1024)) + 100 * partials) * n;
    const prompt = field(i, 'prompt').value;
    // At most a token per byte of its UTF-8 (a quarter of its length undercounted scripts of 3 tokens a character).
    const promptTokens = typeof prompt === 'string' ? Buffer.byteLength(prompt, 'utf8') : 32_000 * 4;
    const inputImages = (i.form?.files.image ?? 0) + (Array.isArray(i.body?.images) ? i.body.images.length : 0);
    const rate = (usdPerMillion: number | undefined) => Math.round((usdPerMillion ?? 0) * 1000);
    const estimateNano =
      outputTokens * rate(price.image_output) + promptTokens * rate(price.input) + inputImages * INPUT_IMAGE_TOKENS * rate(price.image_input ?? price.input);
    return { ...base, priced: true, estimateNano };
  }
  return base;
}

/** Characters of a text as OpenAI counts them (code points, not UTF-16 units). */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function speechPlan(i: PlanInput): MeterPlan {
  const price = meteringPrice(i.prices, i.defaultPrice, i.model);
  const input = i.body?.input;
  const units = typeof input === 'string' ? characters(input) : 0;
  const base = plan('speech', 'audio speech', { model: i.model, price, units });
  // Only per-character prices are knowable here: the audio tokens of token-priced speech models are not reported.
  if (price?.characters === undefined || typeof input !== 'string') return base;
  // USD per million characters: rounded once for the whole input, not per character.
  return { ...base, priced: true, estimateNano: Math.round(units * price.characters * 1000) };
}

/**
 * Seconds of audio billed for a transcription whose answer says nothing of them (text, srt, vtt; refused to
 * spend-limited keys): the body at 16 kbit/s, a low bitrate for speech.
 */
export function estimatedAudioSeconds(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / 2000));
}

/**
 * Seconds of audio reserved for a transcription whose answer reports them, settled to what it reports: the body at
 * 6 kbit/s, Opus's lowest bitrate (in WebM or Ogg, which OpenAI takes). At 16 kbit/s, 50 uploads at once of 20 KB of
 * 6 kbit/s Opus (27 s each) spent 2.4 times a hard cap (found by an outside review).
 */
export function reservedAudioSeconds(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / 750));
}

/** Audio and text tokens per second of audio reserved for token-priced transcription models (about twice the usual). */
const AUDIO_TOKENS_PER_SECOND = 20;
const TEXT_TOKENS_PER_SECOND = 10;

/** Transcription formats whose answers report the audio's duration or usage (OpenAI's default is json). */
const FORMATS_WITH_USAGE = new Set(['json', 'verbose_json', 'diarized_json']);
/**
 * Translation formats whose answers report the audio's duration: only verbose_json (CreateTranslationResponseJson is
 * `{text}` alone), so a translation in the default json was billed from its upload's size (found by a review).
 */
const TRANSLATION_FORMATS_WITH_USAGE = new Set(['verbose_json']);

function transcriptionPlan(i: PlanInput): MeterPlan {
  const price = meteringPrice(i.prices, i.defaultPrice, i.model);
  const format = field(i, 'response_format');
  // Text, srt and vtt answers say nothing of the audio: billed at the estimate, which a denser encoding could beat.
  const translation = i.endpoint === '/audio/translations';
  const reportsUsage = translation
    ? format.known && format.value !== undefined && TRANSLATION_FORMATS_WITH_USAGE.has(String(format.value))
    : format.known && (format.value === undefined || FORMATS_WITH_USAGE.has(String(format.value)));
  const base = reportsUsage
    ? plan('transcription', 'audio transcription', { model: i.model, price })
    : translation
      ? plan('transcription', 'audio translation in a format that reports no duration (any but verbose_json)', { model: i.model, price, unmeterable: true, param: 'response_format' })
      : plan('transcription', 'audio transcription in a format that reports no duration (text, srt, vtt)', { model: i.model, price, unmeterable: true, param: 'response_format' });
  if (!price) return base;
  const seconds = reportsUsage ? reservedAudioSeconds(i.bodyBytes) : estimatedAudioSeconds(i.bodyBytes);
  if (price.minutes !== undefined) return { ...base, priced: true, estimateNano: Math.round((seconds * price.minutes * 1e9) / 60) };
  if (price.audio_input !== undefined || price.input !== undefined) {
    const rate = (usdPerMillion: number | undefined) => Math.round((usdPerMillion ?? 0) * 1000);
    const perSecond = AUDIO_TOKENS_PER_SECOND * rate(price.audio_input ?? price.input) + TEXT_TOKENS_PER_SECOND * rate(price.output);
    return { ...base, priced: true, estimateNano: seconds * perSecond };
  }
  return base;
}

const IMAGE_FIELDS = ['n', 'size', 'quality', 'prompt', 'image', 'partial_images'] as const;

/**
 * The file fields a plan counts (FormValues.files), each with the part names OpenAI reads as it: its SDKs send an
 * array of files (`image: [a, b]`, an array of one too) as parts named `image[]`, one file as `image`. Read as one
 * field, so neither spelling makes the other ambiguous; only a count of files rests on them, never a text field.
 */
export const FORM_FILE_FIELDS: Readonly<Record<string, readonly string[]>> = { image: ['image', 'image[]'] };
const TRANSCRIPTION_FIELDS = ['response_format'] as const;

/** The multipart fields a plan reads for a request (empty when it reads none): what `form` must hold. */
export function formFieldNames(method: string, endpoint: string): readonly string[] {
  if (method !== 'POST') return [];
  if (IMAGE_ENDPOINTS.has(endpoint)) return IMAGE_FIELDS;
  return TRANSCRIPTION_ENDPOINTS.has(endpoint) ? TRANSCRIPTION_FIELDS : [];
}
