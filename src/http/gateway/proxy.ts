import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type ApiFormat, anthropicError } from '../../core/anthropic-errors.js';
import { BODILESS_METHODS, matchApiRoute } from '../../core/api-routes.js';
import { answeredAfterSending, errorBody, TollgateError, upstreamAuthFailed } from '../../core/errors.js';
import { asksToStream, isBackgroundResponse, type MeterPlan } from '../../core/metering-plan.js';
import { mayHoldProviderDetails, mayHoldProviderKey, ProviderKeyWatch, withoutProviderDetails, withoutProviderKeys, withResultsOnGateway } from '../../core/provider-details.js';
import { openAIErrorShape } from '../../core/upstream-error-shape.js';
import { readsAsEventStream } from '../../core/media-types.js';
import { routeModel, type RouteTarget } from '../../core/routing.js';
import { lastUsageKey, tokensFromUsage, usageAtJsonTail, usageFromJsonTail } from '../../core/usage-extract.js';
import { anthropicServiceTier, serviceTierInJson } from '../../core/service-tier.js';
import { answeredSpeed } from '../../core/speed.js';
import type { KeyRecord } from '../../core/verify.js';
import { asUpstreamFailure, failureAnswer, reachedProvider, type Upstream, UpstreamFailure, type UpstreamResponse } from '../../core/upstream.js';
import { REQUEST_ID_LOG_KEY, upstreamRequestIdOf } from '../shared/request-id.js';
import { ANSWER_END_BYTES, answerEndMeasured, measureStream, meteredAnswer, meterPlanOf, needsWholeAnswer, readsAnswerEnd } from './answer-metering.js';
import { checkDelegatedScope, checkModel, countRefusal } from './authorize.js';
import { otherSpelling, otherSpellingRefused, type SpellingIndex, spellingIndex } from '../../core/model-spelling.js';
import { cutIfStalled } from './client-stall.js';
import { lateAnswer } from './late-answer.js';
import { AbortHandle, watchHangUp } from './deadlines.js';
import { cutAtDeadlineMessage, waitForCall } from './deadline-read-on.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from '../../core/request-guard.js';
import { meter, meterAndSettle, NO_TOKENS, type Outcome } from './metering.js';
import { checkObjects, ownedUpstream } from './ownership.js';
import { mayNotRunGraders, storedGradersChecked } from './stored-graders.js';
import { storedGradersRunBy } from '../../core/model-runs.js';
import { BodyTail, BUFFER_LIMIT, mayQuoteRequest, readBounded, relayClearedText, relayPassThrough, streamsThrough } from './pass-through.js';
import { type GatewayRequest, refuseBodyOfBodilessMethod } from './request.js';
import { checkModelUse, requestModel, withModel } from './request-model.js';
import { unlistedLabel } from './route-label.js';
import { admissionHeaders, withAdmissionHeaders } from './limit-headers.js';
import { relayStream } from './stream-relay.js';
import { countFallbackTokens, readOnAfterHangUp, showsAllOutputOf, streamedTokens, withInputCounted, withUnnamedCounted } from './token-fallback.js';
import { forwardTranslated, planTranslation, type Translation } from './translated.js';
import { billsBoundAtDeadline, deadlineBound, largerCounts } from './deadline-bound.js';
import type { TokenCounts } from '../../core/pricing.js';
import { anthropicErrorBodyOf } from '../../core/translate/error-bodies.js';
import { isPending } from '../../core/maybe-promise.js';
import { type FallbackPlan, fallsBackOn, mayFallBack, takeFallback } from './fallback.js';

/** Streamed endpoints that only report usage when asked with stream_options.include_usage. */
const ASK_FOR_USAGE = new Set(['/chat/completions', '/completions']);

export interface RequestInfo {
  record: KeyRecord;
  model: string | null;
  provider: string | null;
  /** The canonical path relative to `/v1`, as forwarded (`/files/file-abc/content`). */
  endpoint: string;
  /** Its API route template (`/files/{file_id}/content`), or a bounded label for a path the API does not list. */
  route: string;
  /** Whether the API lists the route (false: an upstream's own extension, metered from its answer's usage). */
  listed: boolean;
  method: string;
  startedMs: number;
  body: Record<string, unknown> | null;
  /** How the request is metered (answer-metering.ts). */
  plan: MeterPlan;
  /** Tollgate's id of the request. */
  requestId: string;
  /** The upstream's own id of it (its `x-request-id`), once it answered. */
  upstreamRequestId: string | null;
  /** The shape the client is answered in. */
  format: ApiFormat;
  /** The provider credential that answered (its id, never the key), once one did. */
  credential?: string | null;
}

/**
 * A background response that does not stream is billed when its result is retrieved (GET /responses/{id}, or its
 * cancellation); one kept in a conversation can be read there instead (GET /conversations/{id}/items), never billed
 * (found by an outside review): refused, 400 naming `conversation`. Streamed, it is read to its end and billed.
 */
function refuseUnbillableBackground(endpoint: string, body: Record<string, unknown> | null): void {
  if (body === null || body.conversation === undefined || body.conversation === null) return;
  if (!isBackgroundResponse(endpoint, body) || asksToStream(body)) return;
  throw new TollgateError(
    'invalid_value',
    "Tollgate bills a background response when its result is retrieved (GET /v1/responses/{id}); one kept in a conversation could be read from the conversation unbilled. Send it without 'conversation' and retrieve its result with GET /v1/responses/{id}, or with stream: true, or without background.",
    'conversation',
  );
}

/**
 * The data-plane handler for every forwarded `/v1/*` request: verify → scope → limit → forward → meter. The key and the
 * scope of its method and path are checked by the listener before the body is read (listener.ts serve); here, what
 * the body names.
 */
export async function proxy(g: GatewayContext, request: GatewayRequest, res: ServerResponse, record: KeyRecord): Promise<void> {
  const startedMs = g.app.deps.clock();
  const path = request.path;
  const endpoint = path.slice(3) || '/';
  const matched = matchApiRoute(endpoint);
  const route = matched ? matched.template : unlistedLabel(endpoint);
  // The model wherever the upstream reads it (body of any type, query string); 400/415 before anything is stored.
  const found = requestModel(request, endpoint);
  const body = found.body;
  const requested = found.model;
  const target: { model: string | null; provider: string | null; route?: RouteTarget['route'] } = requested
    ? routeModel(g.routing ?? g.config, requested)
    : { model: null, provider: providerWithoutModel(g, request.format) };
  const upstream = requested === null && request.format === 'anthropic' && target.provider === null ? undefined : (g.upstreams.get(target.provider ?? '') ?? g.upstreams.get('echo'));
  // Billed as the model its body names: one named only in the query string is not what the upstream runs.
  const plan = meterPlanOf(g, request, endpoint, body, found.places.some((p) => p.in !== 'query') ? target.model : null);
  const info: RequestInfo = {
    record,
    model: target.model,
    provider: upstream?.name ?? null,
    endpoint,
    route,
    listed: matched !== null,
    method: request.method,
    startedMs,
    body,
    plan,
    requestId: request.requestId,
    upstreamRequestId: null,
    format: request.format,
    credential: null,
  };

  // A provider that takes model names without regard to case (Azure), first or as a fallback: one model, one name.
  const ignoresCase =
    target.model !== null && upstream !== undefined && (upstream.modelsIgnoreCase === true || (target.route?.fallbacks.some((f) => g.upstreams.get(f.provider)?.modelsIgnoreCase === true) ?? false));
  let admission: Admission;
  let via = upstream as Upstream;
  let translation: Translation | null = null;
  try {
    checkDelegatedScope(g, record, request.method, endpoint, body, request.search, request.rawBody !== null);
    refuseUnbillableBackground(endpoint, body);
    refuseBodyOfBodilessMethod(request);
    checkModelUse(g, record, found, request.method, endpoint);
    checkModel(g, record, requested);
    if (target.model !== requested) checkModel(g, record, target.model);
    if (!upstream && requested === null) throw noAnthropicProvider(endpoint);
    if (!upstream) throw new TollgateError('model_not_found', `No upstream provider serves the model '${requested}'.`, 'model');
    if (ignoresCase) refuseOtherSpelling(g, record, target.model as string);
    // A client and a provider that speak different APIs: translated, or refused before anything is counted.
    translation = planTranslation(request, endpoint, body, target.model, upstream, info);
    // Objects the request names must be the project's; what it creates, lists or deletes is settled on the answer.
    const checked = checkObjects(g, record, request, endpoint, target.model === requested ? requested : null);
    const objects = isPending(checked) ? await checked : checked;
    if (objects) via = ownedUpstream(g, objects, upstream);
    // Graders stored with an eval or a fine-tuning job run again at the eval's runs and the job's resumption: checked
    // there, read from the upstream (stored-graders.ts). By any method that may carry a body, as checkDelegatedScope.
    const stored = !BODILESS_METHODS.has(request.method) && mayNotRunGraders(record) ? storedGradersRunBy(endpoint) : null;
    if (stored !== null) via = storedGradersChecked(g, record, stored, upstream, via, objects?.credential ?? null);
    const admitted = g.guard.admit({ record, model: target.model, endpoint, body, plan, nowMs: startedMs, method: request.method, modelsIgnoreCase: ignoresCase || undefined });
    admission = isPending(admitted) ? await admitted : admitted;
  } catch (err) {
    if (err instanceof TollgateError) refused(g, info, err.status, err.code);
    throw err;
  }
  // Fallbacks for a request the route gives them to, unless it names objects held by one provider.
  const fallback: FallbackPlan | null =
    target.route && via === upstream ? { fallbacks: target.route.fallbacks, maxAttempts: target.route.maxAttempts, model: target.model, original: request, places: found.places, attempts: 1, next: 0 } : null;
  if (translation) {
    await forwardTranslated(g, request, res, info, via, admission, translation, providerSecrets(g), fallback);
    return;
  }
  const sent = target.model !== requested ? withModel(request, found.places, target.model as string) : request;
  await forward(g, sent, res, info, via, admission, fallback);
}

/** Each price table's and provider's names by their lower case (core/model-spelling.ts), made once. */
const SPELLINGS = new WeakMap<object, SpellingIndex>();

function spellingsOf(owner: object, names: () => Iterable<string>): SpellingIndex {
  let index = SPELLINGS.get(owner);
  if (index === undefined) {
    index = spellingIndex(names());
    SPELLINGS.set(owner, index);
  }
  return index;
}

/**
 * Refuses `model` for a provider that reads model names without regard to case (Azure) when it is another spelling of a
 * name the gateway knows: priced, aliased, declared by a provider, or in the key's allowlist (a project's per-model
 * limits are checked at admission, core/model-spelling.ts).
 */
function refuseOtherSpelling(g: GatewayContext, record: KeyRecord, model: string): void {
  const aliases = (g.routing ?? g.config).aliases;
  const known: Array<SpellingIndex | readonly string[] | null> = [
    spellingsOf(g.config.prices, () => Object.keys(g.config.prices)),
    spellingsOf(aliases, () => [...Object.keys(aliases), ...Object.values(aliases)]),
    record.allowedModels,
  ];
  for (const up of g.upstreams.values()) if (up.models !== null) known.push(spellingsOf(up, () => up.models ?? []));
  const found = otherSpelling(model, known);
  if (found !== null) {
    countRefusal(g, 'model_not_found');
    throw otherSpellingRefused(model, found);
  }
}

/**
 * The provider of a request that names no model (a list, an object by id, Anthropic's message batches and files,
 * OpenAI's files): the default provider when it speaks the request's API, else the first configured provider that does
 * (an Anthropic batch sent to an OpenAI-compatible default, or a file upload to an Anthropic default, would only be the
 * wrong provider's 404). When none does: the default for OpenAI's API; none for Anthropic's, which is refused (an
 * Anthropic client's file list had been answered with the OpenAI account's files).
 */
function providerWithoutModel(g: GatewayContext, format: ApiFormat): string | null {
  const byDefault = g.config.defaultProvider;
  if (byDefault === null ? format === 'openai' : g.upstreams.get(byDefault)?.format === format) return byDefault;
  for (const [name, upstream] of g.upstreams) if (name !== 'echo' && upstream.format === format) return name;
  return format === 'anthropic' ? null : byDefault;
}

/** The refusal of an Anthropic client's request that names no model when no provider speaks Anthropic's API. */
function noAnthropicProvider(endpoint: string): TollgateError {
  return new TollgateError('unknown_url', `No provider of Anthropic's API is configured here to serve ${endpoint === '/' ? '/v1' : `/v1${endpoint}`}.`);
}

const INCLUDE_USAGE = Buffer.from(',"stream_options":{"include_usage":true}}');

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * A JSON object body (with at least one member and no stream_options) with `"stream_options":{"include_usage":true}`
 * added as its last member: spliced in before the closing brace instead of serialising the whole body again.
 * Null when the bytes do not end as such an object does.
 */
export function withIncludeUsage(raw: Buffer): Buffer | null {
  let end = raw.length - 1;
  while (end > 0 && isSpace(raw[end])) end--;
  if (raw[end] !== 0x7d) return null;
  let before = end - 1;
  while (before > 0 && isSpace(raw[before])) before--;
  if (before <= 0 || raw[before] === 0x7b) return null;
  return Buffer.concat([raw.subarray(0, end), INCLUDE_USAGE]);
}

function refused(g: GatewayContext, info: RequestInfo, status: number, code: string): void {
  meter(g, info, { status, outcome: 'refused', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: code });
}

async function forward(
  g: GatewayContext,
  request: GatewayRequest,
  res: ServerResponse,
  info: RequestInfo,
  firstUpstream: Upstream,
  firstAdmission: Admission,
  fallback: FallbackPlan | null,
): Promise<void> {
  const { body, endpoint } = info;
  const stream = asksToStream(body);
  const isModelCall = info.plan.kind === 'tokens';
  // A POST naming a model to a route the API does not list (an OpenAI-compatible server's own model endpoint, such
  // as Mistral's /v1/fim/completions) is billed whenever its answer reports usage: no path escapes metering.
  // So is one naming a model by another method than the API's (PUT, PATCH…), which an upstream may route as a POST.
  const meterIfReported = info.model !== null && (request.method === 'POST' ? !info.listed : !BODILESS_METHODS.has(request.method));
  // Ask for usage on streams (and strip that extra chunk again if the client did not ask), and apply aliases.
  const streamOptions = body?.stream_options as { include_usage?: boolean } | undefined;
  const injectUsage = stream && ASK_FOR_USAGE.has(endpoint) && streamOptions?.include_usage !== true;
  let upstream = firstUpstream;
  let admission = firstAdmission;

  const controller = new AbortHandle();
  // A whole answer that is billed goes on without its client (watchHangUp); so does a billed stream whose generation
  // is over by the time its client leaves (its usage comes last: hanging up just before it must not make it free), a
  // background response's stream from the start (the provider runs it to its end whoever reads it), and an answer
  // read whole for its metering: a background response's creation (its id, to bill it later) and the retrieval of
  // its result, streamed or not (a client that hung up before `response.completed` had the text and left it unbilled).
  const readWhole = needsWholeAnswer(info.plan);
  const generation = (stream && (isModelCall || meterIfReported)) || readWhole ? { finished: readWhole || isBackgroundResponse(endpoint, body) } : null;
  // A stream whose input the gateway cannot count (by reference) is read to its end too: cut before its usage, it could
  // not be billed what the provider read (asked only at the hang-up).
  const keep = generation ? (cut: boolean) => readOnAfterHangUp(generation, body, info.model, info.plan, cut, showsAllOutputOf(g.config.providers, info.provider)) : !stream && (isModelCall || meterIfReported);
  // What is read on without its client is noted, for a shutdown to let it finish (detached-reads.ts).
  const hungUp = watchHangUp(res, controller, keep, g.detached);
  // A whole answer billed whoever waits for it is waited for past a late first byte, its client answered 504 then
  // (late-answer.ts); from then on it is read and billed as one whose client left.
  const late = !stream && (isModelCall || meterIfReported || readWhole) ? lateAnswer(g, res, info, hungUp, controller, () => admission) : null;
  const clientGone = late ? () => late.answered || hungUp() : hungUp;
  const total = upstream.totalTimeoutMs;
  // At its deadline a model call whose usage the provider bills is read on, its client let go (deadline-read-on.ts).
  const { deadline, pastDeadline, left, abandoned, stopped, answered, cancelDeadline } = waitForCall(g, res, info, {
    totalMs: total,
    controller,
    late,
    hungUp,
    clientGone,
    provider: () => upstream.name,
    admission: () => admission,
    readsOn: () => {
      if (!billsBoundAtDeadline(stream, generation, body, info.model, info.plan, showsAllOutputOf(g.config.providers, info.provider))) return false;
      // A stream's relay reads on unwritten once its generation counts as over (stream-relay.ts).
      if (generation !== null) generation.finished = true;
      return true;
    },
  });
  /**
   * The bound a model call the deadline cut is billed (deadline-bound.ts), or null: not cut by it, not sent (`err`, what
   * ended it, says so), or a stream a hang-up would cut, billed what it delivered.
   */
  const boundAtDeadline = async (err: unknown): Promise<TokenCounts | null> => {
    if (!pastDeadline() || err instanceof TollgateError || (err !== null && asUpstreamFailure(err, upstream.name).notSent)) return null;
    if (!billsBoundAtDeadline(stream, generation, body, info.model, info.plan, showsAllOutputOf(g.config.providers, info.provider))) return null;
    return deadlineBound(body, endpoint, info.model, info.plan);
  };

  let up: UpstreamResponse;
  /** Whether any attempt (a fallback's before this one) reached a provider: one that reached none is not counted. */
  let reached = false;
  for (;;) {
    try {
      // Forwarded with the client's Content-Type, or none: never one the client did not send.
      const headers = upstreamRequestHeaders(request.headers, info.record.projectId);
      const payload = payloadOf(request.rawBody, body, info.model, injectUsage, streamOptions);
      up = await upstream.send({
        method: request.method,
        path: endpoint,
        search: request.search,
        headers,
        body: payload,
        project: info.record.projectId,
        client: info.record.id,
        model: info.model,
        signal: controller,
        onLate: late?.onLate,
        abandoned,
        readsOn: isModelCall,
      });
      reached = true;
      // No fallback for a client that left: nobody waits for its answer (asked again after each wait, takeFallback).
      if (fallback === null || !mayFallBack(up) || stopped() || !(await fallsBackOn(up, payload, info.model))) break;
    } catch (err) {
      if (reachedProvider(err, upstream.name)) reached = true;
      const turn = fallback !== null && mayFallBack(err) ? await takeFallback(g, fallback, info, admission, stopped, null) : null;
      if (turn?.kind === 'step') {
        ({ upstream, request, admission } = turn.step);
        continue;
      }
      if (turn?.kind === 'left') admission = turn.admission;
      const bound = await boundAtDeadline(err);
      cancelDeadline();
      const refusal = failed(g, info, admission, err, { upstream, timedOut: pastDeadline(), left: left(), stream, total, bound, reached });
      if (answered()) return;
      throw withAdmissionHeaders(refusal, admission, info.format);
    }
    const turn = await takeFallback(g, fallback, info, admission, stopped, up);
    if (turn.kind === 'left') admission = turn.admission;
    if (turn.kind !== 'step') break;
    ({ upstream, request, admission } = turn.step);
  }
  const upstreamMs = g.app.deps.clock() - info.startedMs;
  info.upstreamRequestId = upstreamRequestIdOf(up.headers);
  info.credential = up.credential ?? upstream.credential;
  // A model call asked to stream gets an event stream unless the answer says it is JSON (core/media-types.ts).
  const askedToStream = stream && (isModelCall || meterIfReported) && up.statusCode !== 204;
  try {
    // An answer whose client was answered already is read whole (relayBuffered writes nothing then).
    if (up.statusCode < 300 && !late?.answered && readsAsEventStream(up.headers['content-type'], askedToStream)) {
      const result = await relayStream(res, up, {
        endpoint,
        injectUsage,
        admissionHeaders: admissionHeaders(admission, info.format),
        requestId: info.requestId,
        secrets: providerSecrets(g),
        isClientGone: clientGone,
        stallMs: g.clientStallTimeoutMs,
        format: info.format,
        generation: generation ?? undefined,
        deadline,
        cutMessage: cutAtDeadlineMessage(upstream.name, total),
      });
      // Cut at its deadline before its usage: billed no less than the bound, when a hang-up would have read it on.
      const bound = isModelCall && !result.complete && !result.final ? await boundAtDeadline(null) : null;
      const m = isModelCall
        ? { billable: true, tokens: bound ? largerCounts(await streamedTokens(body, result), bound) : await streamedTokens(body, result) }
        : meterIfReported && result.tokens !== null
          ? { billable: true, tokens: result.tokens }
          : measureStream(g, info, result.tokens, result.complete, result.serviceTier);
      const measured = isPending(m) ? await m : m;
      // A client that left before its stream ended (or was let go at its deadline) is recorded so, even when the stream
      // was read to its end for its usage.
      const outcome: Outcome['outcome'] = left() ?? (result.complete ? 'ok' : pastDeadline() ? 'timeout' : 'stream_interrupted');
      meterAndSettle(g, info, admission, {
        // What the client was answered: one let go before its stream began got a 504.
        status: deadline.cut === 'answered' ? 504 : up.statusCode,
        outcome,
        ...measured,
        upstreamMs,
        streamed: true,
        errorCode: outcome === 'ok' ? null : outcome,
        serviceTier: result.serviceTier,
        speed: result.speed,
      });
      return;
    }
    const mayPass = up.statusCode < 400 && !isModelCall && !meterIfReported && !readWhole;
    let through = mayPass && streamsThrough(up, info.route);
    // A JSON answer is read up to BUFFER_LIMIT (chunked, its length is not known before), and past it goes through too.
    if (mayPass && !through) {
      const read = await readBounded(up.body, BUFFER_LIMIT);
      up = { ...up, body: read.body };
      through = read.over;
    }
    if (through) {
      const secrets = providerSecrets(g);
      const headers: OutgoingHttpHeaders = clientResponseHeaders(up.headers, info.requestId, info.format, secrets);
      const limits = admissionHeaders(admission, info.format);
      for (const name in limits) headers[name] = limits[name];
      // A text answer may quote the request it answers (an echo, a diagnostic page), the provider's key with it: read
      // whole when it is small enough, and cleared of the key (pass-through.ts).
      const quotes = mayQuoteRequest(up, info.route, info.method);
      // A JSON image or transcription answer past the size kept in memory ends with its usage: its last bytes are
      // kept as they pass, to bill that usage.
      const tail = !quotes && up.statusCode < 300 && readsAnswerEnd(info.plan, up.headers['content-type']) ? new BodyTail(ANSWER_END_BYTES) : undefined;
      // Any other answer (past the size read whole, of another type) is watched for the key as it passes, and cut
      // before it; a file's content is the client's own.
      const keys = info.route.endsWith('/content') ? undefined : new ProviderKeyWatch(secrets);
      const watch = keys?.watching ? keys : undefined;
      const whole = quotes
        ? await relayClearedText(res, up, headers, clientGone, g.clientStallTimeoutMs, (text) => withoutProviderKeys(text, secrets), watch)
        : await relayPassThrough(res, up, headers, clientGone, g.clientStallTimeoutMs, tail, watch);
      const outcome: Outcome['outcome'] = whole ? 'ok' : clientGone() ? 'client_aborted' : deadline.timedOut ? 'timeout' : 'upstream_error';
      // Speech (audio), a transcription as plain text, answers broken off, or without usage at their end: billed by
      // their plan (answer-metering.ts: images at the estimate of what was asked, as for any answer not read).
      const m = whole && tail ? answerEndMeasured(g, info, tail.first, tail.last()) : measureStream(g, info, null, whole);
      const measured = isPending(m) ? await m : m;
      meterAndSettle(g, info, admission, { status: up.statusCode, outcome, ...measured, upstreamMs, streamed: false, errorCode: whole ? null : outcome });
      return;
    }
    await relayBuffered(g, res, up, info, admission, { isModelCall, meterIfReported, upstreamMs, stream, left, boundAtDeadline, total });
  } catch (err) {
    // Metered already; a client answered at the first byte's timeout is not answered again. Any other is answered
    // not to be retried: the provider has had the request (answeredAfterSending).
    if (!answered()) throw withAdmissionHeaders(answeredAfterSending(err), admission, info.format);
    if (!(err instanceof TollgateError)) g.log?.error({ err, [REQUEST_ID_LOG_KEY]: info.requestId }, 'reading a late answer failed');
  } finally {
    cancelDeadline();
  }
}

/** The body sent upstream: as the client sent it, or with the model as routed and usage asked for on a stream. */
function payloadOf(
  raw: Buffer | null,
  body: Record<string, unknown> | null,
  model: string | null,
  injectUsage: boolean,
  streamOptions: { include_usage?: boolean } | undefined,
): Buffer | null {
  const aliased = model !== null && typeof body?.model === 'string' && body.model !== model;
  const spliced = raw && injectUsage && !aliased && streamOptions === undefined ? withIncludeUsage(raw) : null;
  if (spliced) return spliced;
  if (body && (injectUsage || aliased)) {
    const rewritten: Record<string, unknown> = { ...body, model: model ?? body.model };
    if (injectUsage) rewritten.stream_options = { ...(streamOptions ?? {}), include_usage: true };
    return Buffer.from(JSON.stringify(rewritten));
  }
  return raw;
}

/**
 * Meters a request no upstream answered, and returns what its client is answered (502/503/504), unless it was gone
 * (`left`: it hung up, or was answered at the first byte's timeout, and is recorded so). Billed nothing, as a hang-up
 * whose upstream then fails; but a model call read on past its deadline once sent (deadline-read-on.ts) is billed
 * `bound` (deadline-bound.ts): the provider went on with it. Not to be retried unless nothing reached the provider (a
 * connection refused, the breaker open): one that did may have run (answeredAfterSending). A TollgateError is answered as its thrower made it (an
 * object refused before sending, one made upstream that could not be recorded: ownership.ts).
 */
function failed(
  g: GatewayContext,
  info: RequestInfo,
  admission: Admission,
  err: unknown,
  o: { upstream: Upstream; timedOut: boolean; left: 'client_aborted' | 'timeout' | null; stream: boolean; total: number; bound: TokenCounts | null; reached: boolean },
): TollgateError {
  // Never forwarded when no attempt reached a provider: not counted (unsent, metering.ts).
  const unsent = !o.reached && !o.timedOut;
  if (err instanceof TollgateError) {
    // Refused on what the upstream holds (a batch input naming another project's object) or answered (objects
    // that could not be recorded, a list the upstream broke off).
    const refusedHere = err.status < 500;
    meterAndSettle(g, info, admission, { status: err.status, outcome: refusedHere ? 'refused' : 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: o.stream, errorCode: err.code, unsent: unsent && refusedHere });
    return err;
  }
  const failure = o.timedOut ? new UpstreamFailure('timeout', `The upstream provider '${o.upstream.name}' did not answer within ${o.total} ms.`) : asUpstreamFailure(err, o.upstream.name);
  const outcome: Outcome['outcome'] = o.left ?? (failure.kind === 'timeout' ? 'timeout' : 'upstream_error');
  // A client answered at the first byte's timeout was told 504.
  const { code, status } = failureAnswer(o.left === 'timeout' ? 'timeout' : failure.kind);
  meterAndSettle(g, info, admission, { status, outcome, billable: o.bound !== null, tokens: o.bound ?? NO_TOKENS, upstreamMs: null, streamed: o.stream, errorCode: code, unsent: unsent && !failure.reached });
  const answer = new TollgateError(code, failure.message);
  return failure.notSent ? answer : answeredAfterSending(answer);
}

async function relayBuffered(
  g: GatewayContext,
  res: ServerResponse,
  up: UpstreamResponse,
  info: RequestInfo,
  admission: Admission,
  o: {
    isModelCall: boolean;
    meterIfReported: boolean;
    upstreamMs: number;
    stream: boolean;
    left: () => 'client_aborted' | 'timeout' | null;
    boundAtDeadline: (err: unknown) => Promise<TokenCounts | null>;
    total: number;
  },
): Promise<void> {
  let buf: Buffer;
  try {
    buf = await up.body.readAll();
  } catch (err) {
    // Cut at its deadline while its answer came: billed the bound (deadline-bound.ts), answered 504.
    const bound = await o.boundAtDeadline(err);
    if (bound !== null) {
      const left = o.left();
      meterAndSettle(g, info, admission, { status: 504, outcome: left ?? 'timeout', billable: true, tokens: bound, upstreamMs: o.upstreamMs, streamed: false, errorCode: 'upstream_timeout' });
      throw new TollgateError('upstream_timeout', `The upstream provider '${info.provider}' did not finish its answer within ${o.total} ms.`);
    }
    const failure = asUpstreamFailure(err, info.provider ?? 'upstream');
    meterAndSettle(g, info, admission, { status: 502, outcome: 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs: o.upstreamMs, streamed: false, errorCode: 'upstream_error' });
    throw new TollgateError('upstream_error', `The upstream provider '${info.provider}' broke off its answer (${failure.message}).`);
  }
  const headers: OutgoingHttpHeaders = clientResponseHeaders(up.headers, info.requestId, info.format, providerSecrets(g));
  const limits = admissionHeaders(admission, info.format);
  for (const name in limits) headers[name] = limits[name];
  if (up.statusCode >= 400) {
    meterAndSettle(g, info, admission, { status: up.statusCode, outcome: 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs: o.upstreamMs, streamed: o.stream, errorCode: `upstream_${up.statusCode}` });
    if (up.statusCode === 401 || up.statusCode === 403) {
      // About the provider's credentials or account, not the client's request: the operator must act. The
      // provider's words (masked key, organization) are logged without its details and never answered: cleared whole,
      // then cut (a key cut in two would be missed, and its first part logged).
      const secrets = providerSecrets(g);
      g.log?.error(
        {
          provider: info.provider,
          status: up.statusCode,
          upstream: withoutProviderDetails(buf.toString('utf8'), secrets).slice(0, 2000),
          [REQUEST_ID_LOG_KEY]: info.requestId,
          upstream_request_id: info.upstreamRequestId,
        },
        'UPSTREAM REFUSED THE PROVIDER CREDENTIALS: check the provider key and account',
      );
      if (o.left() !== null) return;
      // Not to be retried by the SDKs (core/errors.ts).
      throw upstreamAuthFailed(info.provider);
    }
    // Nobody to answer: a client that hung up, or one answered at the first byte's timeout.
    if (o.left() !== null) return;
    const shaped = info.format === 'anthropic' ? anthropicErrorText(buf, up.statusCode, info, providerSecrets(g)) : openAIErrorBody(buf, up.statusCode, info.provider, providerSecrets(g));
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = Buffer.byteLength(shaped);
    res.writeHead(up.statusCode, headers);
    res.end(shaped);
    return;
  }
  let tokens = NO_TOKENS;
  /** The answer's usage object, when read (Anthropic's names the tier there). */
  let usage: unknown = null;
  if (o.isModelCall) {
    usage = usageAtJsonTail(buf);
    const fast = usage === null ? null : tokensFromUsage(usage);
    // A usage naming no output (outputUnnamed) of an answer that generates text: its text is counted, the answer parsed.
    if (fast && !(fast.outputUnnamed && GENERATES_TEXT.has(info.endpoint))) tokens = fast.inputUnnamed ? await withInputCounted(info.body, fast) : fast;
    else {
      let parsed: { usage?: unknown } | null = null;
      try {
        parsed = JSON.parse(buf.toString('utf8'));
      } catch {
        meterAndSettle(g, info, admission, { status: 502, outcome: 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs: o.upstreamMs, streamed: false, errorCode: 'upstream_malformed' });
        throw new TollgateError('upstream_error', `The upstream provider '${info.provider}' answered with malformed JSON.`);
      }
      usage = parsed?.usage ?? null;
      const reported = tokensFromUsage(usage);
      tokens = reported ? await withUnnamedCounted(info.body, reported, parsed) : await countFallbackTokens(info.body, parsed);
    }
  }
  let billable = o.isModelCall;
  if (o.meterIfReported) {
    const reported = usageFromJsonTail(buf) ?? usageFromWholeJson(buf);
    if (reported) {
      tokens = reported;
      billable = true;
    }
  }
  const m = billable ? { billable, tokens } : meteredAnswer(g, info, admission, buf, o.upstreamMs);
  const measured = isPending(m) ? await m : m;
  // A model's answer names the tier it ran at (chat completions and responses at the top, Anthropic's message in its
  // usage); other answers are not searched, but a background response's is read by its metering.
  const serviceTier = !billable
    ? (measured.serviceTier ?? null)
    : info.format === 'anthropic'
      ? anthropicServiceTier((usage as { service_tier?: unknown } | null)?.service_tier)
      : serviceTierInJson(buf);
  // A client that hung up on a whole answer, or was answered at the first byte's timeout (late-answer.ts), is billed
  // for it all the same (see forward), its outcome noted.
  const left = o.left();
  const gone = left !== null;
  meterAndSettle(g, info, admission, {
    // What the client was answered: a late answer's client got the 504.
    status: left === 'timeout' ? 504 : up.statusCode,
    outcome: left ?? 'ok',
    ...measured,
    upstreamMs: o.upstreamMs,
    streamed: false,
    errorCode: left === 'timeout' ? 'upstream_timeout' : left,
    serviceTier,
    // Anthropic's message names the speed it ran at in its usage too (core/speed.ts).
    speed: billable && info.format === 'anthropic' ? answeredSpeed(usage) : null,
  });
  if (gone) return;
  // Objects other than model answers can name the provider's organization (fine-tuning jobs, models' owners).
  if (!o.isModelCall) {
    const secrets = providerSecrets(g);
    let text = buf.toString('utf8');
    if (info.format === 'anthropic' && info.endpoint.startsWith('/messages/batches')) {
      const local = withResultsOnGateway(text);
      if (local !== text) {
        text = local;
        buf = Buffer.from(text);
      }
    }
    if (mayHoldProviderDetails(text, secrets)) buf = Buffer.from(withoutProviderDetails(text, secrets));
  } else {
    // A model's answer is the client's text, left as written but for the provider's key, should an upstream quote the
    // request it was sent (an echoing server's answer would hand it over).
    const secrets = providerSecrets(g);
    if (mayHoldProviderKey(buf, secrets)) buf = Buffer.from(withoutProviderKeys(buf.toString('latin1'), secrets), 'latin1');
  }
  // The whole answer is here: its length goes with it (not chunked framing, which costs both ends a little per
  // answer). HEAD, 204 and 304 answers carry no body to measure.
  if (info.method !== 'HEAD' && up.statusCode !== 204 && up.statusCode !== 304) headers['content-length'] = buf.length;
  res.writeHead(up.statusCode, headers);
  res.end(buf);
  // An answer of up to BUFFER_LIMIT its client takes none of is not held (nor its socket) for good.
  if (!res.writableFinished) cutIfStalled(res, g.clientStallTimeoutMs);
}

/**
 * The endpoints whose answers are generated text (chat, legacy completions, responses, Anthropic's messages), counted
 * when a usage names no output. A Response whose usage had `output_tokens: null`, an Anthropic-compatible message
 * without `output_tokens`, were billed 0 output (found by a review) while the same answer streamed was counted.
 */
const GENERATES_TEXT: ReadonlySet<string> = new Set(['/chat/completions', '/completions', '/responses', '/messages']);

/** The usage of a JSON answer whose `usage` is not its last member (parsed whole; only when it has one). */
function usageFromWholeJson(buf: Buffer): ReturnType<typeof tokensFromUsage> {
  if (lastUsageKey(buf, buf.length) < 0) return null;
  try {
    return tokensFromUsage((JSON.parse(buf.toString('utf8')) as { usage?: unknown })?.usage);
  } catch {
    return null;
  }
}

const SECRETS = new WeakMap<GatewayContext, string[]>();

/** The providers' API keys (the file's, and those added at run time), to keep them out of answers and logs. */
function providerSecrets(g: GatewayContext): string[] {
  let s = SECRETS.get(g);
  if (!s) {
    s = g.config.providers.flatMap((p) => [p.apiKey ?? '', ...p.credentials.map((c) => c.apiKey)]).filter((k) => k.length > 0);
    SECRETS.set(g, s);
  }
  const runtime = g.runtimeSecrets?.();
  return runtime && runtime.length > 0 ? [...s, ...runtime] : s;
}

/**
 * An Anthropic provider's error for an Anthropic client: passed on when it is in Anthropic's shape, wrapped otherwise;
 * either way without the provider's account details or keys, and with Tollgate's request id in `request_id`, as every
 * answer's `request-id` header (the provider's id goes out as `x-upstream-request-id`; docs/providers.md).
 */
function anthropicErrorText(buf: Buffer, status: number, info: RequestInfo, secrets: readonly string[]): string {
  const text = withoutProviderDetails(buf.toString('utf8'), secrets);
  const body = anthropicErrorBodyOf(text);
  // Parsed and written again, its strings decoded: they are cleared again as written.
  if (body) return withoutProviderDetails(JSON.stringify({ ...body, request_id: info.requestId }), secrets);
  const snippet = text.replace(/\s+/g, ' ').slice(0, 200);
  return JSON.stringify(anthropicError(status, `The upstream provider '${info.provider}' answered ${status}${snippet ? `: ${snippet}` : ''}.`, info.requestId));
}

/**
 * An upstream error with a message, in OpenAI's Error shape (core/upstream-error-shape.ts: Gemini's numeric code and
 * missing type and param made OpenAI's); wrapped otherwise. Either way without the provider's organization ids or keys.
 */
function openAIErrorBody(buf: Buffer, status: number, provider: string | null, secrets: readonly string[]): string {
  const text = withoutProviderDetails(buf.toString('utf8'), secrets);
  const shaped = openAIErrorShape(text, status);
  // Parsed and written again, its strings decoded: they are cleared again as written.
  if (shaped !== null) return withoutProviderDetails(shaped, secrets);
  const snippet = text.replace(/\s+/g, ' ').slice(0, 200);
  const err = new TollgateError(
    status >= 500 ? 'upstream_error' : 'invalid_value',
    `The upstream provider '${provider}' answered ${status}${snippet ? `: ${snippet}` : ''}.`,
  );
  return JSON.stringify({ error: { ...errorBody(err).error, type: status >= 500 ? 'api_error' : 'invalid_request_error' } });
}
