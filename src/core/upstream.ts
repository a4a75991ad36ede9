import { TollgateError } from './errors.js';
import type { RateLimitVerdict } from './rate-limit.js';
import { MAX_TIMER_MS } from './timers.js';

/** A request as the gateway forwards it. `path` is relative to the provider's base URL (e.g. `/chat/completions`). */
export interface UpstreamRequest {
  method: string;
  path: string;
  search: string;
  /** Handed over: the upstream adds its own credentials to this object. */
  headers: Record<string, string>;
  body: Buffer | null;
  /** The Tollgate project the request is made for (a provider may map it to a project of its own). */
  project?: string | null;
  /** Who sent it (its API key's id): a failure its own request may have caused counts once per client in a breaker. */
  client?: string;
  /** The model the request runs, as routed (Azure OpenAI addresses it as a deployment in the URL). */
  model?: string | null;
  /** An AbortSignal, or the gateway's cheaper one-listener handle. */
  signal: AbortSignal | import('./abort-handle.js').AbortHandle;
  /**
   * Set for a request whose whole answer is billed whoever waits for it (a provider that has it generates it): the
   * upstream does not give it up at its first-byte timeout but calls this then (once), and goes on waiting for the
   * answer until `signal` aborts (the request's deadline). An upstream without such a timeout never calls it.
   */
  onLate?: () => void;
  /**
   * Whether nobody waits for the answer any more (its client hung up, or was answered at the first byte's timeout):
   * an answer already under way is still read and billed, but no other credential is then tried (that would start a
   * generation nobody reads, billed to the key: found by an outside review).
   */
  abandoned?: () => boolean;
  /**
   * The credential (its id) the request must be sent with, and no other: the one whose provider account holds the
   * objects it names (http/gateway/ownership.ts). Overrides the pool's choice and its cool-downs; no other credential
   * is tried. An upstream that does not hold it refuses the request (404), one that disabled it answers 503.
   */
  credential?: string;
  /**
   * Set for a model call the gateway reads on past its deadline for its usage (http/gateway/deadline-read-on.ts): the
   * upstream's own timeouts that would end it first (a late first byte's, when `onLate`; a body's silence) are put at
   * the read-on's end (readOnEndMs), so that the gateway's deadlines decide.
   */
  readsOn?: boolean;
}

/**
 * How long past its deadline (its provider's `total_ms`) a model call the gateway cut there is read on for its usage:
 * `total_ms` again. The provider's own measure of how long its calls run, so that a hard cap's reservation held
 * meanwhile is held in proportion (a fixed half hour would hold a 30 s provider's for sixty times its deadline).
 */
export function readOnMs(totalMs: number): number {
  return totalMs;
}

/** The longest a call read on past its deadline runs from its sending: its deadline and its read-on, within Node's longest timer. */
export function readOnEndMs(totalMs: number): number {
  return Math.min(MAX_TIMER_MS, totalMs + readOnMs(totalMs));
}

/** Takes one chunk of a piped body; returns false to pause the upstream until the pipe's `resume`. */
export type ChunkSink = (chunk: Buffer) => boolean | undefined;

export interface BodyPipe {
  /** Settles when the body has ended (rejects when the upstream breaks off). */
  done: Promise<void>;
  /** Holds back further chunks (and stops reading the upstream) until `resume`. */
  pause(): void;
  /** Lets a paused body flow again. */
  resume(): void;
  /** Stops reading and frees the upstream connection. */
  cancel(): void;
}

/** An upstream answer's body: read whole, or piped chunk by chunk as it arrives (streams). */
export interface UpstreamBody {
  /** The whole body once it has arrived (the same bytes again when called again); rejects when the upstream breaks off. */
  readAll(): Promise<Buffer>;
  /** Hands each chunk to `sink` as it arrives. */
  pipe(sink: ChunkSink): BodyPipe;
}

export interface UpstreamResponse {
  statusCode: number;
  /** The credential that answered, when the upstream picks among several (else its `credential`). */
  credential?: string;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
  /** A 429 judged already (rate-limit.ts): `request` is not retried elsewhere, nor fallen back. */
  rateLimit?: RateLimitVerdict;
}

/** What each attempt of a provider with several credentials came to (counted for /metrics). */
export const ATTEMPT_RESULTS = ['ok', 'rate_limited', 'refused', 'server_error', 'unreachable'] as const;
export type AttemptResult = (typeof ATTEMPT_RESULTS)[number];

/** One credential's counters (for /metrics): attempts by result, cool-downs, and whether it is usable now. */
export interface CredentialStats {
  credential: string;
  attempts: Record<AttemptResult, number>;
  coolDowns: number;
  /** Times it was set aside for one kind of request another credential was let through for (credential-pool.ts). */
  setAsides: number;
  /** Whether it is usable now (not cooling down, not disabled); being set aside for some requests does not count. */
  usable: boolean;
}

/** An upstream provider (HTTP, or the built-in echo model). */
/** What an upstream speaks: OpenAI's API (and OpenAI-compatible servers, Azure OpenAI), or Anthropic's Messages API. */
export type UpstreamFormat = 'openai' | 'anthropic';

export interface Upstream {
  readonly name: string;
  readonly format: UpstreamFormat;
  /** Models this upstream declares (config), or null when it should be asked. */
  readonly models: string[] | null;
  /** Longest a whole exchange may take (headers and body) before the gateway aborts it. */
  readonly totalTimeoutMs: number;
  /** Its one credential's id (the variable's name), or null: several (each answer says which) or none. */
  readonly credential: string | null;
  /**
   * Whether the provider takes a model's name without regard to case (Azure, whose model is a deployment name it
   * resolves so): another spelling of a name the gateway knows (its price, limits, allowlist) is refused for it.
   */
  readonly modelsIgnoreCase?: boolean;
  send(req: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
  /**
   * Aborts the sends still under way (a shutdown past its settling): a whole answer is waited for up to total_ms, and a
   * close waits for it, so a request still waiting for its first byte held the shutdown until it was forced (exit 1).
   */
  abort?(): void;
  /** Its credentials' counters, when it picks among several (for /metrics). */
  credentialStats?(): CredentialStats[];
  /** Its credentials the provider said are invalid with no other credential let through since (for /metrics). */
  invalidCredentials?(): string[];
  /** Its circuit breaker's state and how often it opened, when it has one (for /metrics). */
  circuit?(): { state: 'closed' | 'open' | 'half_open'; opened: number };
}

/** A failure to get an answer at all (connect, timeout, reset); the gateway answers 502/504. */
export class UpstreamFailure extends Error {
  constructor(
    /** `unavailable`: the provider's circuit breaker is open, nothing was sent (503). */
    readonly kind: 'unreachable' | 'timeout' | 'aborted' | 'unavailable',
    message: string,
    /** The request never reached the provider (no connection was made): trying elsewhere cannot run it twice. */
    readonly notSent = false,
    /**
     * Whether any of the request reached the provider, on any of its credentials: not when it was not sent, unless an
     * earlier credential answered it (and was passed over). A request that reached none is not counted (docs/metering.md).
     */
    readonly reached = !notSent,
  ) {
    super(message);
  }
}

/** Errors that mean no connection was made, so the provider saw nothing of the request. */
export const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Statuses that say the provider did not run the request (rate limited, a gateway or overload in front of it,
 * Anthropic's 529 overloaded), so another credential or a fallback may take it without running it twice. A 500 is not
 * one: the request may have run (issue 20 §3, docs/providers.md); nor is a 504, a gateway in front of the provider
 * that gave up waiting for an answer the provider goes on generating (one request with a large max_tokens ran at
 * every key and every fallback, four times, billed nothing: found by an outside review).
 */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 529;
}

/**
 * Any error of an exchange as an UpstreamFailure: an UpstreamFailure as it is, an abort as such, anything else as
 * unreachable with the error's code. Providers classify their own transport's errors first (timeouts).
 */
export function asUpstreamFailure(err: unknown, provider: string): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; name?: string; message?: string } | null;
  if (e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED') return new UpstreamFailure('aborted', 'The request was aborted.');
  return new UpstreamFailure('unreachable', `The upstream provider '${provider}' could not be reached (${e?.code ?? e?.message ?? 'error'}).`, CONNECT_ERRORS.has(e?.code ?? ''));
}

/** The error a client gets for a failure: 504 for a timeout, 503 while the breaker is open, 502 otherwise. */
export function failureAnswer(kind: UpstreamFailure['kind']): { code: 'upstream_timeout' | 'upstream_unavailable' | 'upstream_error'; status: number } {
  if (kind === 'timeout') return { code: 'upstream_timeout', status: 504 };
  if (kind === 'unavailable') return { code: 'upstream_unavailable', status: 503 };
  return { code: 'upstream_error', status: 502 };
}

/**
 * An Azure deployment name as configured: letters, digits, `.`, `_` and `-`, but never `.` or `..` alone, which would
 * be a dot segment of the deployment's path (`/openai/deployments/../…`) rather than a name.
 */
export const DEPLOYMENT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;

/**
 * Whether a failed exchange reached the provider: a TollgateError was refused before sending (below 500: an object
 * the request may not name) or after an answer (500 and up: objects that could not be recorded; any status when it
 * was marked answered after sending, as a 409 for a created object another project owns: found by a review, that
 * request was given back its quota place, RPM and RPD though the provider ran it); any other failure as
 * asUpstreamFailure reads it.
 */
export function reachedProvider(err: unknown, provider: string): boolean {
  if (err instanceof TollgateError) return err.status >= 500 || err.afterSending === true;
  return asUpstreamFailure(err, provider).reached;
}
