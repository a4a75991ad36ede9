import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { answeredAfterSending, TollgateError, upstreamAuthFailed } from '../../core/errors.js';
import { readsAsEventStream } from '../../core/media-types.js';
import { knowsMaxOutputTokens, maxOutputTokens } from '../../core/model-limits.js';
import type { TokenCounts } from '../../core/pricing.js';
import { mayHoldProviderKey, withoutProviderDetails, withoutProviderKeys } from '../../core/provider-details.js';
import { eventData, SseFramer, splitEvents } from '../../core/sse.js';
import { countChatPromptTokens, countTokens, TokenBudget } from '../../core/tokenizer.js';
import { chatCompletionToMessage } from '../../core/translate/chat-completion-to-message.js';
import { chatRequestToMessages } from '../../core/translate/chat-request-to-messages.js';
import { ChatStreamToMessage } from '../../core/translate/chat-stream-to-message.js';
import { anthropicErrorAsOpenAI, openAIErrorAsAnthropic } from '../../core/translate/error-bodies.js';
import { MessageStreamToChat } from '../../core/translate/message-stream-to-chat.js';
import { messageToChatCompletion } from '../../core/translate/message-to-chat-completion.js';
import { messagesRequestToChat } from '../../core/translate/messages-request-to-chat.js';
import { untranslatable } from '../../core/translate/shared.js';
import { answeredServiceTier, anthropicServiceTier } from '../../core/service-tier.js';
import { answeredSpeed, type Speed } from '../../core/speed.js';
import { tokensFromUsage } from '../../core/usage-extract.js';
import { type FallbackPlan, fallsBackOn, mayFallBack, takeFallback } from './fallback.js';
import { asUpstreamFailure, failureAnswer, reachedProvider, type Upstream, UpstreamFailure, type UpstreamResponse } from '../../core/upstream.js';
import { REQUEST_ID_LOG_KEY, upstreamRequestIdOf } from '../shared/request-id.js';
import { cutIfStalled } from './client-stall.js';
import { lateAnswer } from './late-answer.js';
import { admissionHeaders, withAdmissionHeaders } from './limit-headers.js';
import { AbortHandle, watchHangUp } from './deadlines.js';
import { type CallDeadline, cutAtDeadlineMessage, waitForCall } from './deadline-read-on.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from '../../core/request-guard.js';
import { meterAndSettle, NO_TOKENS, type Outcome } from './metering.js';
import type { RequestInfo } from './proxy.js';
import type { GatewayRequest } from './request.js';
import { sendJson } from './respond.js';
import { cutOffEvent, cutOffMessage } from './stream-relay.js';
import { answerFinished, streamShapeFor } from '../../core/stream-usage.js';
import { countFallbackTokens, readOnAfterHangUp, showsAllOutputOf, streamedTokens, withUnnamedCounted } from './token-fallback.js';
import { billsBoundAtDeadline, deadlineBound, largerCounts } from './deadline-bound.js';

// Requests whose client speaks one API and whose provider another (docs/providers.md): an OpenAI client's chat
// completion to an Anthropic provider, an Anthropic client's message (or token count) to an OpenAI-compatible one.
// The request is translated before it is admitted (a field that cannot be translated is a 400 that costs no quota),
// the answer, stream or error on the way back. Requests whose formats agree never come here: they take the
// byte-for-byte path of proxy.ts.

/** max_tokens sent to Anthropic for a chat request that sets none, when the model's largest answer is unknown. */
export const UNKNOWN_MODEL_MAX_TOKENS = 4096;

export type Translation =
  | { kind: 'chat-to-anthropic'; body: Record<string, unknown>; stream: boolean; includeUsage: boolean }
  | { kind: 'messages-to-openai'; body: Record<string, unknown>; stream: boolean }
  | { kind: 'count-locally'; body: Record<string, unknown> };

/**
 * The translation a request needs to reach its upstream, or null when the client and the upstream speak the same
 * API. Throws what cannot be served: a field with no counterpart (400), an Anthropic beta an OpenAI model cannot
 * honour (400), an endpoint the other API has no counterpart for (400, 404, 405).
 */
export function planTranslation(request: GatewayRequest, endpoint: string, body: Record<string, unknown> | null, model: string | null, upstream: Upstream, info: RequestInfo): Translation | null {
  if (request.format === 'anthropic') {
    const known = endpoint === '/messages' || endpoint === '/messages/count_tokens';
    if (known && request.method !== 'POST') throw new TollgateError('method_not_allowed', `${request.method} is not allowed on /v1${endpoint}; send POST.`);
    if (upstream.format === 'anthropic') return null;
    if (!known || model === null || body === null) {
      throw new TollgateError('unknown_url', `The model's provider speaks OpenAI's API: Tollgate translates only POST /v1/messages and /v1/messages/count_tokens to it, not ${request.method} /v1${endpoint}.`);
    }
    const beta = request.headers['anthropic-beta'];
    if (beta !== undefined) throw untranslatable('openai', model, 'anthropic-beta', `the header's betas (${String(beta).slice(0, 200)}) are Anthropic's own`);
    if (endpoint === '/messages/count_tokens') {
      messagesRequestToChat(body, { model, forCounting: true });
      return { kind: 'count-locally', body };
    }
    const chat = messagesRequestToChat(body, { model });
    return { kind: 'messages-to-openai', body: chat.body, stream: chat.stream };
  }
  if (upstream.format !== 'anthropic' || model === null) return null;
  if (endpoint !== '/chat/completions' || request.method !== 'POST' || body === null) {
    throw new TollgateError(
      'invalid_value',
      `The model '${model}' is served by an Anthropic provider: call it through /v1/chat/completions or /v1/messages, not ${request.method} /v1${endpoint}.`,
      'model',
    );
  }
  // A beta header of Anthropic's on an OpenAI client's request: translated answers are read by the Messages API's
  // shapes Tollgate knows, and betas may change them (and their prices), so it is refused rather than dropped unnoticed.
  const beta = request.headers['anthropic-beta'];
  if (beta !== undefined) {
    throw untranslatable('anthropic', model, 'anthropic-beta', `the header's betas (${String(beta).slice(0, 200)}) are not translated: call /v1/messages to use them`);
  }
  // Anthropic needs max_tokens: the model's largest answer (the most a hard spend cap reserves for it), else a default.
  const configured = info.plan.price?.max_output_tokens;
  const defaultMaxTokens = configured !== undefined || knowsMaxOutputTokens(model) ? maxOutputTokens(model, () => configured) : UNKNOWN_MODEL_MAX_TOKENS;
  const messages = chatRequestToMessages(body, { model, defaultMaxTokens });
  return { kind: 'chat-to-anthropic', body: messages.body, stream: messages.stream, includeUsage: messages.includeUsage };
}

/** Answers a translated request: forwards it in the upstream's API and answers in the client's. */
export async function forwardTranslated(
  g: GatewayContext,
  request: GatewayRequest,
  res: ServerResponse,
  info: RequestInfo,
  upstream: Upstream,
  admission: Admission,
  t: Translation,
  secrets: readonly string[],
  fallback: FallbackPlan | null = null,
): Promise<void> {
  if (t.kind === 'count-locally') return countLocally(g, request, res, info, admission, t.body);
  const headers = upstreamRequestHeaders(request.headers, info.record.projectId);
  for (const name in headers) if (name.startsWith('anthropic-') || name.startsWith('openai-')) delete headers[name];
  headers['content-type'] = 'application/json';
  const path = t.kind === 'chat-to-anthropic' ? '/messages' : '/chat/completions';
  const streamed = t.stream;
  const controller = new AbortHandle();
  // A whole answer is read and billed even when its client hung up (the provider bills it); so is a stream whose
  // generation is over when its client leaves (its usage comes last), as for an untranslated one (proxy.ts).
  const generation = { finished: false };
  // A stream whose input the gateway cannot count (by reference), or that asked for reasoning, is read to its end too
  // (proxy.ts): asked of the body sent upstream, in the provider's API (found by review: an OpenAI client's
  // reasoning_effort to Claude was never seen, the body not given, and the stream cut).
  const hungUp = watchHangUp(res, controller, t.stream ? (cut: boolean) => readOnAfterHangUp(generation, t.body, info.model, info.plan, cut, showsAllOutputOf(g.config.providers, info.provider)) : true, g.detached);
  // A whole answer is waited for past a late first byte, its client answered 504 then (late-answer.ts, as in proxy.ts).
  const late = t.stream ? null : lateAnswer(g, res, info, hungUp, controller, () => admission);
  const clientGone = late ? () => late.answered || hungUp() : hungUp;
  const total = upstream.totalTimeoutMs;
  // At its deadline a call whose usage the provider bills is read on, its client let go (deadline-read-on.ts, as in proxy.ts).
  const { deadline, pastDeadline, left, abandoned, stopped, answered, cancelDeadline } = waitForCall(g, res, info, {
    totalMs: total,
    controller,
    late,
    hungUp,
    clientGone,
    provider: () => upstream.name,
    admission: () => admission,
    readsOn: () => {
      if (!billsBoundAtDeadline(streamed, generation, t.body, info.model, info.plan, showsAllOutputOf(g.config.providers, info.provider))) return false;
      // A stream's relay reads on untranslated to its client once its generation counts as over.
      generation.finished = true;
      return true;
    },
  });
  const failed = (o: Pick<Outcome, 'status' | 'outcome' | 'errorCode' | 'unsent'>, upstreamMs: number | null) =>
    meterAndSettle(g, info, admission, { ...o, billable: false, tokens: NO_TOKENS, upstreamMs, streamed: t.stream });
  /** The bound a call the deadline cut once sent is billed (deadline-bound.ts, as in proxy.ts), or null; of the body sent upstream. */
  const boundAtDeadline = async (err: unknown): Promise<TokenCounts | null> => {
    if (!pastDeadline() || err instanceof TollgateError || (err !== null && asUpstreamFailure(err, upstream.name).notSent)) return null;
    if (!billsBoundAtDeadline(streamed, generation, t.body, info.model, info.plan, showsAllOutputOf(g.config.providers, info.provider))) return null;
    return deadlineBound(t.body, path, info.model, info.plan);
  };
  let up: UpstreamResponse;
  /** Whether any attempt (a fallback's before this one) reached a provider: one that reached none is not counted. */
  let reached = false;
  // The translated body goes to the route's fallbacks as it is (they speak the same API), with the model changed when
  // a fallback names another: see fallback.ts.
  for (;;) {
    try {
      // The translation is this request's own: a fallback's model is written into it (the answer names it too).
      if (info.model !== null && t.body.model !== info.model) t.body.model = info.model;
      const sent = fallback === null ? headers : { ...headers };
      const body = Buffer.from(JSON.stringify(t.body));
      up = await upstream.send({
        method: 'POST',
        path,
        search: '',
        headers: sent,
        body,
        project: info.record.projectId,
        client: info.record.id,
        model: info.model,
        signal: controller,
        onLate: late?.onLate,
        abandoned,
        readsOn: info.plan.kind === 'tokens',
      });
      reached = true;
      // No fallback for a client that left: nobody waits for its answer (asked again after each wait, takeFallback).
      if (fallback === null || !mayFallBack(up) || stopped() || !(await fallsBackOn(up, body, info.model))) break;
    } catch (err) {
      if (reachedProvider(err, upstream.name)) reached = true;
      const turn = fallback !== null && mayFallBack(err) ? await takeFallback(g, fallback, info, admission, stopped, null) : null;
      if (turn?.kind === 'step') {
        ({ upstream, admission } = turn.step);
        continue;
      }
      if (turn?.kind === 'left') admission = turn.admission;
      return unanswered(err, await boundAtDeadline(err));
    }
    const turn = await takeFallback(g, fallback, info, admission, stopped, up);
    if (turn.kind === 'left') admission = turn.admission;
    if (turn.kind !== 'step') break;
    ({ upstream, admission } = turn.step);
  }
  /**
   * Meters a request no upstream answered, and answers its client 502/504 unless it was gone (billed nothing, as a
   * hang-up; `bound` when the deadline cut it once sent).
   */
  function unanswered(err: unknown, bound: TokenCounts | null): void {
    cancelDeadline();
    // Refused by the upstream adapter before anything was sent (a model it cannot address): the client is told so.
    // Never forwarded when no attempt reached a provider: not counted (unsent, metering.ts).
    const unsent = !reached && !pastDeadline();
    if (err instanceof TollgateError) {
      failed({ status: err.status, outcome: 'refused', errorCode: err.code, unsent }, null);
      throw withAdmissionHeaders(err, admission, request.format);
    }
    const failure = pastDeadline() ? new UpstreamFailure('timeout', `The upstream provider '${upstream.name}' did not answer within ${total} ms.`) : asUpstreamFailure(err, upstream.name);
    const gone = left();
    // A client answered at the first byte's timeout was told 504.
    const { code, status } = failureAnswer(gone === 'timeout' ? 'timeout' : failure.kind);
    const outcome = gone ?? (failure.kind === 'timeout' ? 'timeout' : 'upstream_error');
    if (bound !== null) meterAndSettle(g, info, admission, { status, outcome, billable: true, tokens: bound, upstreamMs: null, streamed, errorCode: code });
    else failed({ status, outcome, errorCode: code, unsent: unsent && !failure.reached }, null);
    if (answered()) return;
    // Not to be retried unless nothing reached the provider (as proxy.ts's `failed`).
    const answer = new TollgateError(code, failure.message);
    throw withAdmissionHeaders(failure.notSent ? answer : answeredAfterSending(answer), admission, request.format);
  }
  const upstreamMs = g.app.deps.clock() - info.startedMs;
  info.upstreamRequestId = upstreamRequestIdOf(up.headers);
  info.credential = up.credential ?? upstream.credential;
  const answerHeaders: OutgoingHttpHeaders = clientResponseHeaders(up.headers, info.requestId, request.format, secrets);
  const limits = admissionHeaders(admission, request.format);
  for (const name in limits) answerHeaders[name] = limits[name];
  try {
    // A stream asked for is one unless the answer says it is JSON (core/media-types.ts).
    if (up.statusCode < 300 && t.stream && readsAsEventStream(up.headers['content-type'], up.statusCode !== 204)) {
      const result = await relayTranslatedStream(res, up, answerHeaders, t, Math.floor(info.startedMs / 1000), clientGone, generation, g.clientStallTimeoutMs, info.requestId, secrets, {
        deadline,
        message: cutAtDeadlineMessage(upstream.name, total),
      });
      // Counted, when the provider reports no usage, from the request it was sent: the body a native call would send.
      const delivered = await streamedTokens(t.body, result);
      // Cut at its deadline before its usage: billed no less than the bound, when a hang-up would have read it on.
      const bound = !result.complete && !result.final ? await boundAtDeadline(null) : null;
      const tokens = bound ? largerCounts(delivered, bound) : delivered;
      const outcome: Outcome['outcome'] = left() ?? (result.complete ? 'ok' : pastDeadline() ? 'timeout' : 'stream_interrupted');
      meterAndSettle(g, info, admission, {
        // What the client was answered: one let go before its stream began got a 504.
        status: deadline.cut === 'answered' ? 504 : up.statusCode,
        outcome,
        billable: true,
        tokens,
        upstreamMs,
        streamed: true,
        errorCode: outcome === 'ok' ? null : outcome,
        serviceTier: result.serviceTier,
        speed: result.speed,
      });
      return;
    }
    let buf: Buffer;
    try {
      buf = await up.body.readAll();
    } catch (err) {
      // Cut at its deadline while its answer came: billed the bound, answered 504 (as in proxy.ts).
      const bound = await boundAtDeadline(err);
      if (bound !== null) {
        meterAndSettle(g, info, admission, { status: 504, outcome: left() ?? 'timeout', billable: true, tokens: bound, upstreamMs, streamed: false, errorCode: 'upstream_timeout' });
        throw new TollgateError('upstream_timeout', `The upstream provider '${upstream.name}' did not finish its answer within ${total} ms.`);
      }
      failed({ status: 502, outcome: 'upstream_error', errorCode: 'upstream_error' }, upstreamMs);
      throw new TollgateError('upstream_error', `The upstream provider '${upstream.name}' broke off its answer (${asUpstreamFailure(err, upstream.name).message}).`);
    }
    if (up.statusCode >= 300) {
      failed({ status: up.statusCode, outcome: 'upstream_error', errorCode: `upstream_${up.statusCode}` }, upstreamMs);
      const text = withoutProviderDetails(buf.toString('utf8'), secrets);
      if (up.statusCode === 401 || up.statusCode === 403) {
        g.log?.error(
          { provider: upstream.name, status: up.statusCode, upstream: text.slice(0, 2000), [REQUEST_ID_LOG_KEY]: info.requestId, upstream_request_id: info.upstreamRequestId },
          'UPSTREAM REFUSED THE PROVIDER CREDENTIALS: check the provider key and account',
        );
        if (left() !== null) return;
        // Not to be retried by the SDKs, as on the native path (core/errors.ts).
        throw upstreamAuthFailed(upstream.name);
      }
      // Nobody to answer: a client that hung up, or one answered at the first byte's timeout.
      if (left() !== null) return;
      const shaped =
        t.kind === 'chat-to-anthropic' ? anthropicErrorAsOpenAI(up.statusCode, text, upstream.name) : openAIErrorAsAnthropic(up.statusCode, text, upstream.name, info.requestId);
      // The message was parsed out of the text, decoded: it is cleared again as it goes out.
      shaped.error.message = withoutProviderDetails(shaped.error.message, secrets);
      sendJson(res, info.requestId, up.statusCode, shaped, answerHeaders);
      return;
    }
    let answer: unknown;
    try {
      // Cleared of the provider's key first, should an upstream quote the request it was sent (proxy.ts does the same).
      answer = JSON.parse(mayHoldProviderKey(buf, secrets) ? withoutProviderKeys(buf.toString('utf8'), secrets) : buf.toString('utf8'));
    } catch {
      failed({ status: 502, outcome: 'upstream_error', errorCode: 'upstream_malformed' }, upstreamMs);
      throw new TollgateError('upstream_error', `The upstream provider '${upstream.name}' answered with malformed JSON.`);
    }
    // Metered before it is translated: the provider ran the call whether its answer translates or not (an OpenAI tool
    // call cut off by max_tokens, its arguments no JSON object, failed the translation and was billed nothing).
    const whole = answer !== null && typeof answer === 'object' ? (answer as { usage?: unknown; service_tier?: unknown }) : {};
    const usage = whole.usage;
    const reported = tokensFromUsage(usage);
    const tokens = reported ? await withUnnamedCounted(t.body, reported, answer) : await countFallbackTokens(t.body, answer);
    // The tier the answer names: Anthropic's in its usage (by OpenAI's names, core/service-tier.ts), OpenAI's at the top.
    const serviceTier = t.kind === 'chat-to-anthropic' ? anthropicServiceTier((usage as { service_tier?: unknown } | undefined)?.service_tier) : answeredServiceTier(whole.service_tier);
    // And the speed a Claude answer ran at (core/speed.ts): a chat request cannot ask for fast mode (the translation
    // refuses `speed`), but an answer that ran fast is billed at the fast rates all the same.
    const speed = t.kind === 'chat-to-anthropic' ? answeredSpeed(usage) : null;
    let translated: Record<string, unknown>;
    try {
      // The client is shown the counts it is billed: the tokenizer's when the provider reported none.
      translated =
        t.kind === 'chat-to-anthropic'
          ? messageToChatCompletion(answer, { created: Math.floor(info.startedMs / 1000), counted: tokens })
          : chatCompletionToMessage(answer, { model: info.model ?? '', counted: tokens, requestId: info.requestId });
    } catch (err) {
      meterAndSettle(g, info, admission, { status: 502, outcome: 'upstream_error', billable: true, tokens, upstreamMs, streamed: false, errorCode: 'upstream_malformed', serviceTier, speed });
      // Past what the stack holds (a tool input nested thousands deep): a clear 502, not a 500.
      if (err instanceof RangeError) throw new TollgateError('upstream_error', `The upstream provider '${upstream.name}' answered with JSON nested too deep to translate.`);
      throw err;
    }
    // A client that hung up, or was answered at the first byte's timeout, is billed all the same, its outcome noted.
    const gone = left();
    const errorCode = gone === 'timeout' ? 'upstream_timeout' : gone;
    meterAndSettle(g, info, admission, { status: gone === 'timeout' ? 504 : up.statusCode, outcome: gone ?? 'ok', billable: true, tokens, upstreamMs, streamed: false, errorCode, serviceTier, speed });
    if (gone === null) sendJson(res, info.requestId, up.statusCode, translated, answerHeaders);
  } catch (err) {
    // Metered already; a client answered at the first byte's timeout is not answered again. Any other is answered
    // not to be retried: the provider has had the request (answeredAfterSending).
    if (!answered()) throw withAdmissionHeaders(answeredAfterSending(err), admission, request.format);
    if (!(err instanceof TollgateError)) g.log?.error({ err, [REQUEST_ID_LOG_KEY]: info.requestId }, 'reading a late answer failed');
  } finally {
    cancelDeadline();
  }
}

interface TranslatedStream {
  complete: boolean;
  /** Whether `tokens` are the stream's final usage. */
  final: boolean;
  tokens: TokenCounts | null;
  /** The tier the stream named, as recorded (core/service-tier.ts). */
  serviceTier: string | null;
  /** The speed a Claude stream ran at (core/speed.ts), or null. */
  speed: Speed | null;
  /** Generated output seen, for counting when the upstream reported no usage or the stream ended before its last. */
  text: string;
}

/**
 * Relays a stream event by event through its translator, pausing the upstream while the client's socket is full (and
 * cutting a client that takes nothing for `stallMs`: client-stall.ts). A stream the upstream cuts off, or one of
 * whose events grows past the framer's bound (core/sse.ts: the sink's throw aborts the upstream), ends with an error
 * event in the client's shape.
 */
async function relayTranslatedStream(
  res: ServerResponse,
  up: UpstreamResponse,
  headers: OutgoingHttpHeaders,
  t: Extract<Translation, { kind: 'chat-to-anthropic' | 'messages-to-openai' }>,
  created: number,
  isClientGone: () => boolean,
  generation: { finished: boolean },
  stallMs: number,
  requestId: string,
  secrets: readonly string[],
  /** The request's deadline: when it passes with the call read on, the client's stream ends there (`message`), the rest read untranslated to it. */
  cut?: { deadline: Pick<CallDeadline, 'relaying'>; message: string },
): Promise<TranslatedStream> {
  // A provider's error event names its message; the translator decodes it, and it is cleared of the provider's details.
  const scrub = (text: string) => withoutProviderDetails(text, secrets);
  // A stream that reports no usage ends with the counts the gateway bills (the tokenizer's), as the client is shown.
  const translator =
    t.kind === 'chat-to-anthropic'
      ? new MessageStreamToChat({ created, includeUsage: t.includeUsage, awaitCount: true, scrub })
      : new ChatStreamToMessage({ model: String(t.body.model), requestId, awaitCount: true, scrub });
  const format = t.kind === 'chat-to-anthropic' ? 'openai' : 'anthropic';
  delete headers['content-length'];
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  const framer = new SseFramer();
  // The upstream's stream (the other API's) shows when the answer's generation is over (stream-usage.ts).
  const upstreamShape = streamShapeFor(t.kind === 'chat-to-anthropic' ? '/messages' : '/chat/completions');
  const onDrain = () => piped.resume();
  const clientEndpoint = t.kind === 'chat-to-anthropic' ? '/chat/completions' : '/messages';
  /** Whether the client's stream was ended at the request's deadline (or answered 504 before it began): nothing more is written. */
  let ended = false;
  cut?.deadline.relaying(() => {
    // Its end already translated (only its counts to come) and its client there: it ends as it would have.
    if (translator.ended && !res.destroyed) return;
    ended = true;
    if (!res.headersSent || res.writableEnded || res.destroyed) return;
    res.off('drain', onDrain);
    onDrain();
    res.end(cutOffEvent(format, clientEndpoint, null, requestId, cut.message));
    if (!res.writableFinished) cutIfStalled(res, stallMs);
  });
  if (!ended) res.writeHead(200, headers);
  const piped = up.body.pipe((chunk) => {
    const events = framer.push(chunk);
    if (!events || translator.ended) return true;
    if (!generation.finished && answerFinished(events, upstreamShape)) generation.finished = true;
    // A client gone: the rest is translated only for its usage (a stream whose generation was over, or one read on past
    // its deadline), never written.
    const gone = ended || res.destroyed || isClientGone();
    if (gone && !ended && !generation.finished) return true;
    let out = '';
    for (const event of splitEvents(events.toString('utf8'))) out += translator.push(eventData(event));
    if (translator.ended) queueMicrotask(() => piped.cancel());
    if (gone || out.length === 0 || res.write(out)) return true;
    res.once('drain', onDrain);
    cutIfStalled(res, stallMs);
    return false;
  });
  // A client that hangs up while the upstream waits for a drain: nothing is held back for a drain that will not come.
  res.once('close', onDrain);
  /** What broke the stream off (an event past the framer's bound, core/sse.ts, is named in the cut-off event). */
  let breakage: unknown = null;
  try {
    await piped.done;
  } catch (err) {
    // broken off (or cancelled once the translator ended): judged below
    breakage = err;
  }
  res.off('drain', onDrain);
  res.off('close', onDrain);
  const rest = framer.rest();
  if (rest && !translator.ended) {
    const out = translator.push(eventData(rest.toString('utf8')));
    if (out && !ended && !res.destroyed && !isClientGone()) res.write(out);
  }
  // The counts billed (streamedTokens: the tokenizer's, or at least its count of the output when the usage reported no
  // output count), shown to the client in the end it held for them.
  let counted: TokenCounts | null = null;
  if (translator.awaitingCount) {
    counted = await streamedTokens(t.body, { final: translator.final, tokens: translator.tokens, text: translator.text });
    const out = translator.finishWith(counted);
    if (!ended && !res.destroyed && !isClientGone()) res.write(out);
  }
  if (ended) {
    // ended whole at its deadline: nothing more to write
  } else if (isClientGone()) res.destroy();
  else if (!res.destroyed) {
    res.end(translator.ended ? undefined : cutOffEvent(format, clientEndpoint, null, requestId, cutOffMessage(breakage)));
    if (!res.writableFinished) cutIfStalled(res, stallMs);
  }
  const speed = translator instanceof MessageStreamToChat ? translator.speed : null;
  // Counted here, they are the final word: counted again, the count could only come out the same.
  return { complete: translator.complete, final: translator.final || counted !== null, tokens: counted ?? translator.tokens, serviceTier: translator.serviceTier, speed, text: translator.text };
}

/**
 * `POST /v1/messages/count_tokens` for a model of an OpenAI-compatible provider, which has no such endpoint: counted
 * here with OpenAI's o200k tokenizer over the translated messages and tools (images and documents are not counted):
 * exactly up to EXACT_COUNT_CHARS, past them an estimate at the rate of what was counted (nothing is billed by it).
 */
async function countLocally(g: GatewayContext, request: GatewayRequest, res: ServerResponse, info: RequestInfo, admission: Admission, body: Record<string, unknown>): Promise<void> {
  const chat = messagesRequestToChat(body, { model: info.model ?? '', forCounting: true }).body;
  const budget = new TokenBudget('estimate');
  const tools = chat.tools === undefined ? 0 : await countTokens(JSON.stringify(chat.tools), budget);
  const inputTokens = (await countChatPromptTokens(chat.messages, budget)) + tools;
  meterAndSettle(g, info, admission, { status: 200, outcome: 'ok', billable: false, tokens: NO_TOKENS, upstreamMs: null, streamed: false, errorCode: null });
  sendJson(res, request.requestId, 200, { input_tokens: inputTokens }, { ...admissionHeaders(admission, 'anthropic'), 'request-id': request.requestId });
}
