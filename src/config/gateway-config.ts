import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isPair, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { DEFAULT_PRICES, type ModelPrice } from '../core/pricing.js';
import { baseUrlProblem } from '../core/provider-url.js';
import type { Config } from './config.js';
import { DEPLOYMENT_NAME } from '../core/upstream.js';
import { findRepeatedMember } from '../core/repeated-members.js';
import { ProviderHeaders } from './provider-headers.js';
import { segmentProblem } from '../core/canonical-path.js';
import { PROVIDER_ADMIN_PREFIXES } from '../core/api-routes.js';
import { MAX_TIMER_MS } from '../core/timers.js';

// tollgate.config.json / .yaml: providers, model routing and aliases, prices. Provider secrets are never in the
// file: each provider names the environment variable that holds its key.

// Bounded by Node's longest timer: past it, a first_byte_ms of 3000000000 answered 504 at once while the call went
// on, billed.
const TimerMs = z.number().int().positive().max(MAX_TIMER_MS, `milliseconds at most ${MAX_TIMER_MS} (Node's longest timer)`);

const Timeouts = z.strictObject({
  connect_ms: TimerMs.optional(),
  first_byte_ms: TimerMs.optional(),
  total_ms: TimerMs.optional(),
});

/**
 * What a provider key from the environment may hold: printable ASCII without spaces, as a runtime credential
 * (services/runtime-provider-input.ts). It goes into a header as it is: a trailing newline (a Kubernetes secret from a
 * file, an env file) was taken at start, then every request failed 502 (UND_ERR_INVALID_ARG) and opened the breaker.
 */
export const KEY_CHARACTERS = /^[\x21-\x7e]+$/;
/** Why a key is refused, naming where it came from and never what it holds. */
export const KEY_CHARACTERS_PROBLEM = 'holds characters a key cannot have (a trailing newline?): a key is printable ASCII without spaces';

/**
 * What `api_key_env` holds: the name of a variable (POSIX's portable names). A key typed in its place would be echoed
 * by "environment variable … is not set", so anything else is refused without being shown; an empty name sent no key.
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EnvName = z.string().regex(ENV_NAME, 'must name an environment variable (letters, digits and _), not hold the key');

/** The kinds of provider (docs/providers.md): what the upstream speaks and how it takes its key. */
export const PROVIDER_KINDS = ['openai', 'azure-openai', 'anthropic'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** The `anthropic-version` sent to an Anthropic provider when the client sends none. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * A model pattern of `shows_all_output`: a model name, or a prefix ending in a single `*` (as routes match them,
 * core/routing.ts: case as written).
 */
const ModelPattern = z
  .string()
  .min(1)
  .max(256)
  .refine((p) => !p.slice(0, -1).includes('*'), 'a pattern is a model name or a prefix ending in a single * (llama-3.3-70b, llama-*)');

/**
 * `shows_all_output`: the operator's word that a provider's models (`true`), or those a list names, generate nothing
 * they do not show, so that their streams are cut when their client hangs up (token-fallback.ts mayReasonUnseen);
 * `false` is the default, the built-in list alone.
 */
const ShowsAllOutput = z.union([
  z.boolean(),
  z
    .array(ModelPattern)
    .min(1, 'name at least one model or prefix (or true for every model of the provider)')
    .max(256)
    .refine((l) => new Set(l).size === l.length, 'a pattern is listed twice'),
]);

const Provider = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/i),
  /**
   * `openai` (the default): OpenAI and every OpenAI-compatible server (vLLM, Ollama, Groq, Mistral, Gemini's
   * OpenAI-compatible endpoint); `azure-openai`: Azure OpenAI's deployment URLs, `api-key` and `api-version`;
   * `anthropic`: Anthropic's Messages API, `x-api-key` and `anthropic-version`.
   */
  kind: z.enum(PROVIDER_KINDS).optional(),
  base_url: z.string().superRefine((url, ctx) => {
    const problem = baseUrlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  api_key_env: EnvName.optional(),
  /** Several keys of this provider, picked by weight; a failed attempt moves on to another (docs/providers.md). */
  credentials: z.array(z.strictObject({ api_key_env: EnvName, weight: z.number().positive().finite().optional() })).min(1).max(64).optional(),
  /** Attempts of one request over the provider's credentials (default: one per credential). */
  max_attempts: z.number().int().min(1).max(10).optional(),
  /**
   * How long a credential refused a model (a 403, a 401 about permissions) that another credential was let through for
   * is skipped for that model on that endpoint (default an hour); it keeps serving everything else.
   */
  refusal_cool_down_ms: z.number().int().min(1000).max(7 * 86_400_000).optional(),
  /**
   * The provider's circuit breaker: opened by `failures` consecutive failures (no connection, 502/503/529; timeouts
   * and other 5xx once per API key) for `cool_off_ms`, then probed with one request; `false` turns it off.
   */
  circuit_breaker: z
    .union([z.literal(false), z.strictObject({ failures: z.number().int().min(1).max(1000).optional(), cool_off_ms: z.number().int().min(100).max(3_600_000).optional() })])
    .optional(),
  /** How the key is sent; each kind has its own default (bearer, api-key, x-api-key). */
  auth: z.enum(['bearer', 'api-key', 'x-api-key', 'none']).optional(),
  /** `api-version` (query parameter) for Azure-style providers; the default `anthropic-version` for Anthropic. */
  api_version: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be a version (printable, no spaces)').optional(),
  /** Azure OpenAI: model → deployment name (a model without one is its own deployment). */
  deployments: z.record(z.string(), z.string().regex(DEPLOYMENT_NAME, 'must be a deployment name (not . or ..)')).optional(),
  headers: ProviderHeaders.optional(),
  models: z.array(z.string()).optional(),
  timeouts: Timeouts.optional(),
  retries: z.number().int().min(0).max(5).optional(),
  connections: z.number().int().positive().max(1024).optional(),
  /**
   * Tollgate project id → the provider's own project, sent as `OpenAI-Project` on every request of that project, for
   * the provider's isolation on top of Tollgate's (docs/object-isolation.md).
   */
  projects: z
    .record(
      z.string().regex(/^proj_[A-Za-z0-9]+$/, 'must be a Tollgate project id (proj_…)'),
      z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be a project id of the provider (printable, no spaces)'),
    )
    .optional(),
  /**
   * The models of this provider that show all they generate (`true`: every one; or names and `prefix*` patterns): a
   * stream of one is cut when its client hangs up, unless the request asks for reasoning (docs/metering.md).
   */
  shows_all_output: ShowsAllOutput.optional(),
});

const usd = z.number().min(0).finite();
/** Rates above a long-context threshold (core/pricing.ts `long_context`): a tier's, and a price's with cache writes. */
const LongContext = z.strictObject({
  above_input_tokens: z.number().int().positive(),
  input: usd,
  cached_input: usd.optional(),
  output: usd.optional(),
});
/** A service tier's rates (core/pricing.ts TierRates): USD per 1M tokens. */
const TierRates = z.strictObject({
  input: usd,
  cached_input: usd.optional(),
  output: usd,
  long_context: LongContext.optional(),
});
/** A model's price (see core/pricing.ts ModelPrice): USD per 1M tokens, per image, per 1M characters, per minute. */
const Price = z
  .strictObject({
    input: usd.optional(),
    cached_input: usd.optional(),
    cache_write_input: usd.optional(),
    cache_write_1h_input: usd.optional(),
    output: usd.optional(),
    audio_input: usd.optional(),
    audio_output: usd.optional(),
    image_input: usd.optional(),
    image_output: usd.optional(),
    long_context: LongContext.extend({ cache_write_input: usd.optional(), cache_write_1h_input: usd.optional() }).optional(),
    images: z.record(z.string(), z.record(z.string(), usd)).optional(),
    characters: usd.optional(),
    minutes: usd.optional(),
    max_output_tokens: z.number().int().positive().optional(),
    max_input_tokens: z.number().int().positive().optional(),
    priority: TierRates.optional(),
    flex: TierRates.optional(),
    /**
     * Anthropic's fast mode: the multiple of every rate a fast answer is billed at (core/pricing.ts `fast`). At least 1:
     * fast mode is never cheaper than the standard speed, and a multiple below it would reserve and bill fast requests
     * at less than they cost.
     */
    fast: z.number().min(1).finite().optional(),
    /** USD per 1,000 web searches the provider runs (core/pricing.ts `web_search`). */
    web_search: usd.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'a price names at least one rate');

/** `pricing.default` prices every model the table does not name (else such models are refused to budgeted keys). */
const DEFAULT_PRICE_KEY = 'default';

const Reporter = z.strictObject({
  name: z.string().min(1).max(128),
  key_id: z.string().min(1).max(512),
  /**
   * PEM (SPKI) public key of the reporter's ECDSA signing key, checked here: verifyReport (http/secret-scanning.ts)
   * takes a key it cannot read as a bad signature, and every correctly signed report was refused 401.
   */
  public_key: z.string().superRefine((pem, ctx) => {
    const problem = publicKeyProblem(pem);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});

/** The kinds of public key a SHA-256 signature is checked with (node:crypto verify, as verifyReport calls it). */
const SIGNATURE_KEY_TYPES = new Set(['ec', 'rsa', 'rsa-pss', 'dsa']);

/** Why a reporter's public_key is not one reports can be verified with (ECDSA, as verifyReport checks them), or null. */
function publicKeyProblem(pem: string): string | null {
  let isPrivate = false;
  try {
    createPrivateKey(pem);
    isPrivate = true;
  } catch {}
  // Its text is never shown: a private key pasted in its place is a secret.
  if (isPrivate) return "a private key: give the reporter's public key (PEM, SPKI), and keep the private one secret";
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch {
    return 'not a PEM (SPKI) public key ("-----BEGIN PUBLIC KEY-----", then its lines; in YAML a literal block, public_key: |, keeps them)';
  }
  // verifyReport checks a SHA-256 signature: an ECDSA key's (GitHub's, P-256), or an RSA or DSA one's; an Ed25519 or
  // X25519 key cannot check one, and every report would be refused.
  if (!SIGNATURE_KEY_TYPES.has(type ?? '')) return `an ${type} key, which cannot check the reports' signatures (ECDSA with SHA-256): give the reporter's EC public key`;
  return null;
}

/**
 * A route: a provider's name, or a provider with fallbacks (issue 20 §3): tried in order when the provider cannot
 * answer before anything reached the client (docs/providers.md). A fallback names another provider, another model, or
 * both; `max_attempts` bounds the providers tried for one request, the first included.
 */
const Fallback = z.strictObject({ provider: z.string().optional(), model: z.string().min(1).max(256).optional() }).refine((f) => f.provider !== undefined || f.model !== undefined, 'a fallback names a provider, a model, or both');
const Route = z.union([
  z.string(),
  z.strictObject({ provider: z.string(), fallbacks: z.array(Fallback).max(8).optional(), max_attempts: z.number().int().min(1).max(10).optional() }),
]);

/** Providers (or models) tried for one request when its route does not say: the first and two fallbacks. */
export const DEFAULT_ROUTE_ATTEMPTS = 3;

const FileSchema = z
  .strictObject({
    secret_scanning: z
      .strictObject({ reporters: z.array(Reporter) })
      .superRefine(({ reporters }, ctx) => {
        // A report names its key by key_id, and the first reporter of that id is the only one tried.
        const first = new Map<string, number>();
        for (const [i, r] of reporters.entries()) {
          const at = first.get(r.key_id);
          if (at !== undefined) ctx.addIssue({ code: 'custom', path: ['reporters', i, 'key_id'], message: `${r.key_id} is already the key_id of reporters.${at}` });
          else first.set(r.key_id, i);
        }
      })
      .optional(),
    providers: z.array(Provider).optional(),
    routes: z.record(z.string(), Route).optional(),
    aliases: z.record(z.string(), z.string()).optional(),
    default_provider: z.string().optional(),
    pricing: z.record(z.string(), Price).optional(),
    timeouts: Timeouts.optional(),
    /**
     * Paths under /v1 an upstream serves beyond OpenAI's and Anthropic's APIs (Mistral's `/v1/fim/completions`), each
     * forwarded with the paths below it after the same checks; no other path outside the APIs' resource families is.
     */
    pass_through_paths: z.array(z.string()).max(64).optional(),
  })
  .superRefine((file, ctx) => {
    const problem =
      namesProblem(file.providers ?? []) ?? patternsProblem(file.routes ?? {}) ?? aliasesProblem(file.aliases ?? {}) ?? passThroughProblem(file.pass_through_paths ?? []);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

type FileProblem = { path: Array<string | number>; message: string };

/**
 * Two providers of one name, in any case: the gateway keeps one upstream per name (the last), where the routes were
 * checked against the first, and runtime providers' names are compared ignoring case.
 */
function namesProblem(providers: ReadonlyArray<{ name: string }>): FileProblem | null {
  const first = new Map<string, number>();
  for (const [i, p] of providers.entries()) {
    const at = first.get(p.name.toLowerCase());
    if (at !== undefined) return { path: ['providers', i, 'name'], message: `provider ${p.name} is already named by providers.${at} (${providers[at].name}); names are compared ignoring case` };
    first.set(p.name.toLowerCase(), i);
  }
  return null;
}

/** A route pattern is matched exactly or, ending in one `*`, as a prefix (core/routing.ts): any other `*` never matches. */
function patternsProblem(routes: Record<string, unknown>): FileProblem | null {
  const rule = 'a pattern is a model name or a prefix ending in a single * (gpt-4o, gpt-4o*)';
  for (const pattern of Object.keys(routes)) {
    if (pattern === '') return { path: ['routes'], message: `${rule}, not empty` };
    if (pattern.slice(0, -1).includes('*')) return { path: ['routes', pattern], message: rule };
  }
  return null;
}

/** First segments never forwarded, whatever the file says: the control plane's and OpenAI's Admin API outside it. */
const NEVER_PASSED_THROUGH = new Set(['organization', 'secret-scanning', 'projects']);

/**
 * A pass-through path is a canonical path under /v1 (what the gateway compares it with: a request in another spelling is
 * refused before, docs/gateway-paths.md), outside Tollgate's own routes and OpenAI's Admin API.
 */
function passThroughProblem(paths: readonly string[]): FileProblem | null {
  for (const [i, path] of paths.entries()) {
    const at = ['pass_through_paths', i];
    if (!path.startsWith('/v1/')) return { path: at, message: 'a pass-through path starts with /v1/ (e.g. /v1/fim/completions)' };
    const segments = path.slice(4).split('/');
    for (const segment of segments) {
      const problem = segmentProblem(segment);
      if (problem) return { path: at, message: `a pass-through path is written as clients must send it: this one has ${problem}` };
    }
    if (NEVER_PASSED_THROUGH.has(segments[0])) return { path: at, message: `/v1/${segments[0]} is never forwarded (Tollgate's own routes, or the provider's account)` };
    // The provider-admin routes of the data plane (a fine-tuned checkpoint's permissions): never forwarded either.
    const admin = PROVIDER_ADMIN_PREFIXES.find((a) => path === `/v1${a}` || path.startsWith(`/v1${a}/`));
    if (admin !== undefined) return { path: at, message: `/v1${admin} is never forwarded (the provider's account)` };
  }
  return null;
}

/** Aliases are resolved once, before routing (core/routing.ts): one that names an alias, or a pattern, is never what it says. */
function aliasesProblem(aliases: Record<string, string>): FileProblem | null {
  for (const [alias, model] of Object.entries(aliases)) {
    if (alias === '' || alias.includes('*')) return { path: alias === '' ? ['aliases'] : ['aliases', alias], message: 'an alias is a model name (not empty, not a pattern)' };
    if (model === '' || model.includes('*')) return { path: ['aliases', alias], message: 'an alias names a model, not a pattern (and not empty)' };
    if (model === alias) return { path: ['aliases', alias], message: 'names itself' };
    if (Object.hasOwn(aliases, model)) return { path: ['aliases', alias], message: `names ${model}, itself an alias (aliases are resolved once): name the model` };
  }
  return null;
}

export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  apiKey: string | null;
  auth: 'bearer' | 'api-key' | 'x-api-key' | 'none';
  apiVersion: string | null;
  /** Azure OpenAI: model → deployment. */
  deployments: Record<string, string>;
  /** The provider's keys (one, or a weighted pool); `apiKey` is the first one's. */
  credentials: Array<{ id: string; apiKey: string; weight: number }>;
  /** Attempts of one request over the credentials. */
  maxAttempts: number;
  /** How long a credential refused one kind of request another was let through for is skipped for it (default 1 h). */
  refusalCoolDownMs?: number;
  /** The provider's circuit breaker, or null when turned off. */
  circuitBreaker: { failures: number; coolOffMs: number } | null;
  headers: Record<string, string>;
  models: string[] | null;
  timeouts: { connectMs: number; firstByteMs: number; totalMs: number };
  retries: number;
  connections: number;
  /** Tollgate project id → the provider's project (`OpenAI-Project`). */
  projects: Record<string, string>;
  /**
   * `shows_all_output`: the models the operator says show all they generate (`true`: every one; else names and
   * `prefix*` patterns), cut when their client hangs up; absent: the built-in list alone (token-fallback.ts).
   */
  showsAllOutput?: true | readonly string[];
}

/** A route: the provider a model pattern goes to, and where a request goes when that provider cannot answer. */
export interface RouteConfig {
  pattern: string;
  provider: string;
  /** Tried in order; `model` null keeps the request's model. Empty for most routes. */
  fallbacks: ReadonlyArray<{ provider: string; model: string | null }>;
  /** Providers (or models) tried for one request, the first included. */
  maxAttempts: number;
}

export interface GatewayConfig {
  /** Empty means the built-in `tollgate-echo` model answers. */
  providers: ProviderConfig[];
  routes: RouteConfig[];
  aliases: Record<string, string>;
  defaultProvider: string | null;
  prices: Record<string, ModelPrice>;
  /** `pricing.default`: the price of models `prices` does not name (exactly or as a dated snapshot), or null. */
  defaultPrice: ModelPrice | null;
  /** Trusted secret-scanning reporters (public keys only). */
  reporters: Array<{ name: string; keyId: string; publicKey: string }>;
  /** The file's `timeouts` over the defaults: what a provider added at run time gets. */
  timeouts?: ProviderConfig['timeouts'];
  /** `pass_through_paths`: paths under /v1 forwarded (with those below them) beside the APIs' resource families. */
  passThroughPaths: string[];
}

/** A provider added at run time (services/runtime-providers.ts), as the gateway builds it. */
export interface RuntimeProviderSpec {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  models: readonly string[];
  apiVersion: string | null;
  deployments: Record<string, string>;
  credentials: Array<{ id: string; apiKey: string; weight: number }>;
}

/**
 * A runtime provider's config, with the defaults a config-file provider of its kind gets (auth by kind, credential
 * attempts, circuit breaker, the file's timeouts).
 */
export function runtimeProviderConfig(p: RuntimeProviderSpec, timeouts: ProviderConfig['timeouts'] = DEFAULT_TIMEOUTS): ProviderConfig {
  const key = p.credentials[0]?.apiKey ?? null;
  return {
    name: p.name,
    kind: p.kind,
    baseUrl: p.baseUrl.replace(/\/+$/, ''),
    apiKey: key,
    auth: DEFAULT_AUTH[p.kind],
    apiVersion: p.apiVersion ?? (p.kind === 'anthropic' ? DEFAULT_ANTHROPIC_VERSION : null),
    deployments: { ...p.deployments },
    credentials: p.credentials.map((c) => ({ ...c })),
    maxAttempts: Math.max(1, Math.min(p.credentials.length, DEFAULT_CREDENTIAL_ATTEMPTS)),
    circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER },
    headers: {},
    models: p.models.length > 0 ? [...p.models] : null,
    timeouts: { ...timeouts },
    retries: 0,
    connections: 128,
    projects: {},
  };
}

/** A provider's circuit breaker unless its config says otherwise: five failures in a row open it for 30 s. */
export const DEFAULT_CIRCUIT_BREAKER = Object.freeze({ failures: 5, coolOffMs: 30_000 });

/** Credentials one request tries at most when the provider does not say (its keys, up to three). */
export const DEFAULT_CREDENTIAL_ATTEMPTS = 3;

const DEFAULT_TIMEOUTS = { connectMs: 10_000, firstByteMs: 120_000, totalMs: 600_000 };

/** What the gateway config is read from: the settings it depends on and the provider secrets' environment. */
export type GatewaySources = Pick<Config, 'configFile' | 'openaiApiKey' | 'openaiBaseUrl' | 'anthropicApiKey' | 'anthropicBaseUrl'>;

const DEFAULT_AUTH: Record<ProviderKind, ProviderConfig['auth']> = { openai: 'bearer', 'azure-openai': 'api-key', anthropic: 'x-api-key' };

/** What a kind of provider cannot take, as a load error, or null. */
function kindProblem(p: z.infer<typeof Provider>, kind: ProviderKind): string | null {
  if (kind === 'azure-openai' && !p.api_version) return 'an azure-openai provider needs api_version (e.g. 2024-10-21)';
  if (p.deployments && kind !== 'azure-openai') return 'deployments are for azure-openai providers';
  if (p.projects && kind === 'anthropic') return "projects map to OpenAI's projects (OpenAI-Project), which an anthropic provider has none of";
  if (p.credentials && p.api_key_env) return 'give api_key_env or credentials, not both';
  if (p.auth && p.auth !== 'none' && !p.credentials && p.api_key_env === undefined) return `auth ${p.auth} sends a key: give api_key_env or credentials (or auth: none)`;
  if (p.credentials && new Set(p.credentials.map((c) => c.api_key_env)).size !== p.credentials.length) return 'a credential is listed twice';
  return null;
}

/** A provider's credentials from the environment; throws for one whose variable is not set. */
function credentialsOf(p: z.infer<typeof Provider>, env: Readonly<Record<string, string | undefined>>): ProviderConfig['credentials'] {
  const listed = p.credentials ?? (p.api_key_env !== undefined ? [{ api_key_env: p.api_key_env, weight: 1 }] : []);
  return listed.map((c) => {
    const apiKey = env[c.api_key_env];
    if (!apiKey) throw new Error(`provider ${p.name}: environment variable ${c.api_key_env} is not set`);
    if (!KEY_CHARACTERS.test(apiKey)) throw new Error(`provider ${p.name}: environment variable ${c.api_key_env} ${KEY_CHARACTERS_PROBLEM}`);
    return { id: c.api_key_env, apiKey, weight: c.weight ?? 1 };
  });
}

/**
 * Reads the gateway config (file, then OPENAI_API_KEY), validating it; throws a readable error. Called once, by
 * loadConfig: the environment is read here for the secrets the file names and kept nowhere else.
 */
export function loadGatewayConfig(config: GatewaySources, env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  let file: z.infer<typeof FileSchema> = {};
  if (config.configFile) {
    const text = readFileSync(config.configFile, 'utf8');
    const raw = /\.ya?ml$/i.test(config.configFile) ? parseYamlFile(config.configFile, text) : parseJsonFile(config.configFile, text);
    const parsed = FileSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`${config.configFile}: ${i.path.join('.')}: ${i.message}`);
    }
    file = parsed.data;
  }
  const globalTimeouts = { ...DEFAULT_TIMEOUTS, ...timeouts(file.timeouts) };
  const providers: ProviderConfig[] = (file.providers ?? []).map((p) => {
    const kind = p.kind ?? 'openai';
    const problem = kindProblem(p, kind);
    if (problem) throw new Error(`provider ${p.name}: ${problem}`);
    const credentials = credentialsOf(p, env);
    const key = credentials[0]?.apiKey;
    return {
      name: p.name,
      kind,
      baseUrl: p.base_url.replace(/\/+$/, ''),
      apiKey: key ?? null,
      auth: p.auth ?? (key ? DEFAULT_AUTH[kind] : 'none'),
      apiVersion: p.api_version ?? (kind === 'anthropic' ? DEFAULT_ANTHROPIC_VERSION : null),
      deployments: p.deployments ?? {},
      credentials,
      maxAttempts: p.max_attempts ?? Math.max(1, Math.min(credentials.length, DEFAULT_CREDENTIAL_ATTEMPTS)),
      ...(p.refusal_cool_down_ms !== undefined ? { refusalCoolDownMs: p.refusal_cool_down_ms } : {}),
      circuitBreaker:
        p.circuit_breaker === false
          ? null
          : { failures: p.circuit_breaker?.failures ?? DEFAULT_CIRCUIT_BREAKER.failures, coolOffMs: p.circuit_breaker?.cool_off_ms ?? DEFAULT_CIRCUIT_BREAKER.coolOffMs },
      headers: p.headers ?? {},
      models: p.models ?? null,
      timeouts: { ...globalTimeouts, ...timeouts(p.timeouts) },
      retries: p.retries ?? 0,
      connections: p.connections ?? 128,
      projects: p.projects ?? {},
      ...(p.shows_all_output === true || Array.isArray(p.shows_all_output) ? { showsAllOutput: p.shows_all_output } : {}),
    };
  });
  const fromEnv = (name: string, kind: ProviderKind, baseUrl: string, apiKey: string, variable: string): ProviderConfig => ({
    name,
    kind,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    apiKey,
    auth: DEFAULT_AUTH[kind],
    apiVersion: kind === 'anthropic' ? DEFAULT_ANTHROPIC_VERSION : null,
    deployments: {},
    credentials: [{ id: variable, apiKey, weight: 1 }],
    maxAttempts: 1,
    circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER },
    headers: {},
    models: null,
    timeouts: globalTimeouts,
    retries: 0,
    connections: 128,
    projects: {},
  });
  // A provider of the file named so (in any case) takes the variable's place.
  const named = (name: string) => providers.some((p) => p.name.toLowerCase() === name);
  if (config.openaiApiKey && !named('openai')) providers.push(fromEnv('openai', 'openai', config.openaiBaseUrl, config.openaiApiKey, 'OPENAI_API_KEY'));
  // ANTHROPIC_API_KEY alone, or beside OPENAI_API_KEY: Claude models (claude-*) go to Anthropic.
  const anthropicFromEnv = config.anthropicApiKey !== undefined && !named('anthropic');
  if (anthropicFromEnv) providers.push(fromEnv('anthropic', 'anthropic', config.anthropicBaseUrl, config.anthropicApiKey as string, 'ANTHROPIC_API_KEY'));
  const names = new Set(providers.map((p) => p.name));
  const routes = Object.entries(file.routes ?? {}).map(([pattern, route]) => routeOf(pattern, route, providers));
  if (anthropicFromEnv && !routes.some((r) => r.provider === 'anthropic')) routes.push({ pattern: 'claude-*', provider: 'anthropic', fallbacks: NO_FALLBACKS, maxAttempts: 1 });
  const defaultProvider = file.default_provider ?? providers[0]?.name ?? null;
  if (defaultProvider && !names.has(defaultProvider)) throw new Error(`default_provider: unknown provider ${defaultProvider}`);
  return {
    providers,
    routes,
    aliases: file.aliases ?? {},
    defaultProvider,
    ...pricesOf(file.pricing ?? {}),
    reporters: (file.secret_scanning?.reporters ?? []).map((r) => ({ name: r.name, keyId: r.key_id, publicKey: r.public_key })),
    timeouts: globalTimeouts,
    passThroughPaths: file.pass_through_paths ?? [],
  };
}

/**
 * OPENAI_API_KEY and ANTHROPIC_API_KEY set beside a config-file provider of that name (in any case) that does not read
 * them: the file's provider takes the variable's place (loadGatewayConfig), and the key was silently unused, a provider
 * given no api_key_env sending none. Warned of at start rather than refused: a file may name its own key variable, or a
 * keyless local server `openai`, while the variable is set for other programs.
 */
export function ignoredKeyWarnings(config: Pick<GatewaySources, 'openaiApiKey' | 'anthropicApiKey'>, gateway: Pick<GatewayConfig, 'providers'>): string[] {
  const out: string[] = [];
  for (const [variable, name, key] of [
    ['OPENAI_API_KEY', 'openai', config.openaiApiKey],
    ['ANTHROPIC_API_KEY', 'anthropic', config.anthropicApiKey],
  ] as const) {
    const p = key ? gateway.providers.find((q) => q.name.toLowerCase() === name) : undefined;
    if (!p || p.credentials.some((c) => c.id === variable)) continue;
    const reads = p.credentials.length === 0 ? 'is given no key and sends none' : `takes its key from ${p.credentials.map((c) => c.id).join(', ')}`;
    out.push(`${variable} is set but not used: the config file's provider ${p.name} ${reads} (give it api_key_env: ${variable} to use it)`);
  }
  return out;
}

/**
 * A JSON config file's value: refused when it is not JSON (saying where, not what: V8's message quotes the text, which
 * may hold a secret), or when an object names a member twice, which JSON.parse takes last-wins and YAML refuses.
 */
function parseJsonFile(file: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = /at position (\d+)/.exec((err as Error).message);
    throw new Error(`${file}: not valid JSON${at ? ` (${lineAndColumn(text, Number(at[1]))})` : ''}`);
  }
  const repeated = findRepeatedMember(text);
  if (repeated) throw new Error(`${file}: ${repeated.path}: named more than once (JSON readers differ on which one counts); name each member once`);
  return value;
}

/**
 * A YAML config file's value: refused saying where and why, without the excerpt of its text the parser's message shows.
 * Its warnings refuse it too: a tag it does not know (`!!js/function`, `!foo`) was read as a plain string, with a
 * YAMLWarning quoting the line. Merge keys (`<<: *base`) are not supported (YAML 1.2 has none: `<<` was read as a member
 * named so, then refused as unknown); they are refused saying so.
 */
function parseYamlFile(file: string, text: string): unknown {
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false });
  } catch (err) {
    throw new Error(`${file}: not valid YAML (${firstLine((err as Error).message)})`);
  }
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const at = lineCounter.linePos(problem.pos[0]);
    throw new Error(`${file}: not valid YAML (${firstLine(problem.message)} at line ${at.line}, column ${at.col})`);
  }
  let merge: number | null = null;
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === '<<' && pair.key.type === 'PLAIN') {
        merge = pair.key.range?.[0] ?? 0;
        return visit.BREAK;
      }
    },
  });
  if (merge !== null) {
    const at = lineCounter.linePos(merge);
    throw new Error(`${file}: merge keys (<<) are not supported (line ${at.line}, column ${at.col}): write each member out`);
  }
  try {
    return doc.toJS();
  } catch (err) {
    throw new Error(`${file}: not valid YAML (${firstLine((err as Error).message)})`);
  }
}

/** A parser's message without the excerpt of the text it may quote after its first line. */
const firstLine = (message: string) => message.split('\n')[0].replace(/:\s*$/, '');

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

const NO_FALLBACKS: RouteConfig['fallbacks'] = Object.freeze([]);

/** What a provider speaks: a fallback must speak what its route's provider does (the request is sent as it is). */
const formatOf = (kind: ProviderKind): string => (kind === 'anthropic' ? 'anthropic' : 'openai');

/** A route from the file, validated: known providers, fallbacks that speak the same API and differ from the route. */
function routeOf(pattern: string, route: z.infer<typeof Route>, providers: readonly ProviderConfig[]): RouteConfig {
  const spec = typeof route === 'string' ? { provider: route } : route;
  const primary = providers.find((p) => p.name === spec.provider);
  if (!primary) throw new Error(`route ${pattern}: unknown provider ${spec.provider}`);
  const seen = new Set([`${primary.name}\n`]);
  const fallbacks = (('fallbacks' in spec && spec.fallbacks) || []).map((f, i) => {
    const name = f.provider ?? primary.name;
    const p = providers.find((q) => q.name === name);
    if (!p) throw new Error(`route ${pattern}: fallbacks.${i}: unknown provider ${name}`);
    if (formatOf(p.kind) !== formatOf(primary.kind)) {
      throw new Error(`route ${pattern}: fallbacks.${i}: provider ${name} (${p.kind}) does not speak the API of ${primary.name} (${primary.kind})`);
    }
    if (f.model?.includes('*')) throw new Error(`route ${pattern}: fallbacks.${i}: a model is a name, not a pattern`);
    const key = `${name}\n${f.model ?? ''}`;
    if (seen.has(key)) throw new Error(`route ${pattern}: fallbacks.${i}: tries ${name}${f.model ? ` with ${f.model}` : ''} again`);
    seen.add(key);
    return { provider: name, model: f.model ?? null };
  });
  const maxAttempts = ('max_attempts' in spec && spec.max_attempts) || DEFAULT_ROUTE_ATTEMPTS;
  return { pattern, provider: primary.name, fallbacks: fallbacks.length > 0 ? fallbacks : NO_FALLBACKS, maxAttempts };
}

/** The price table (built-in prices, overridden per model by the file) and the file's `default` price apart. */
function pricesOf(pricing: Record<string, ModelPrice>): { prices: Record<string, ModelPrice>; defaultPrice: ModelPrice | null } {
  const { [DEFAULT_PRICE_KEY]: defaultPrice, ...models } = pricing;
  return { prices: { ...DEFAULT_PRICES, ...models }, defaultPrice: defaultPrice ?? null };
}

function timeouts(t: z.infer<typeof Timeouts> | undefined): Partial<ProviderConfig['timeouts']> {
  if (!t) return {};
  return {
    ...(t.connect_ms ? { connectMs: t.connect_ms } : {}),
    ...(t.first_byte_ms ? { firstByteMs: t.first_byte_ms } : {}),
    ...(t.total_ms ? { totalMs: t.total_ms } : {}),
  };
}
