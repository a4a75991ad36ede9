import { answeredAfterSending, TollgateError } from '../../core/errors.js';
import { FORM_FILE_FIELDS, type FormValues, formFieldNames, type MeterPlan, meteringPrice, planMetering } from '../../core/metering-plan.js';
import { multipartFields } from '../../core/multipart.js';
import { costNanoUsd, pricesTokens, pricesWebSearches, type TokenCounts } from '../../core/pricing.js';
import { answeredServiceTier } from '../../core/service-tier.js';
import { tokensFromUsage, usageAtJsonEnd } from '../../core/usage-extract.js';
import { isJsonMediaType, mediaTypeOf } from '../../core/media-types.js';
import { claimBackgroundResponse, recordBackgroundResponse } from '../../services/background-responses.js';
import type { GatewayContext } from './gateway-context.js';
import type { Admission } from '../../core/request-guard.js';
import { meterAndSettle, NO_TOKENS, type Outcome } from './metering.js';
import type { RequestInfo } from './proxy.js';
import { withUnnamedCounted } from './token-fallback.js';
import type { GatewayRequest } from './request.js';
import { isPending, type MaybePromise } from '../../core/maybe-promise.js';

// The gateway's side of metering every endpoint family (core/metering-plan.ts decides what a request is billed by):
// the plan of a request, read from its JSON or multipart body, and what its answer says it used.

/** Longest text value metering keeps of a form field (the fields it reads are short). */
const MAX_FORM_VALUE = 1024;

/**
 * The multipart fields metering reads, through the one multipart reader every check uses (core/multipart.ts: the body
 * is read once, for the model lookup, and each field here is found among the parts of that reading); null
 * when the body is not multipart, or any of them cannot be read unambiguously, or a text field comes as a file. A
 * file field's parts are counted under all the names it goes by (FORM_FILE_FIELDS: `image` and `image[]`).
 */
function formValuesOf(raw: Buffer, contentType: string, names: readonly string[]): FormValues | null {
  const values: Record<string, string[]> = {};
  const files: Record<string, number> = {};
  for (const name of names) {
    const spellings = Object.hasOwn(FORM_FILE_FIELDS, name) ? FORM_FILE_FIELDS[name] : null;
    const read = multipartFields(raw, contentType, spellings ?? name);
    if (!read.ok) return null;
    if (spellings) files[name] = read.fields.length;
    else if (read.fields.length > 0) {
      if (read.fields.some((f) => f.filename !== null)) return null;
      values[name] = read.fields.map((f) => raw.toString('utf8', f.start, Math.min(f.end, f.start + MAX_FORM_VALUE)));
    }
  }
  return { values, files };
}

/** The metering plan of a request: `body` its JSON object (however declared), `model` its routed model, or nulls. */
export function meterPlanOf(g: GatewayContext, request: GatewayRequest, endpoint: string, body: Record<string, unknown> | null, model: string | null): MeterPlan {
  let form: FormValues | null = null;
  const names = formFieldNames(request.method, endpoint);
  const contentType = request.headers['content-type'];
  if (!body && request.rawBody && names.length > 0 && typeof contentType === 'string') form = formValuesOf(request.rawBody, contentType, names);
  return planMetering({
    method: request.method,
    endpoint,
    body,
    form,
    model,
    bodyBytes: request.rawBody?.length ?? 0,
    prices: g.config.prices,
    defaultPrice: g.config.defaultPrice,
  });
}

/** What an answer was billed: the parts of an Outcome that metering fills in. */
export type Measured = Pick<Outcome, 'billable' | 'tokens' | 'units' | 'costNanoUsd' | 'model' | 'priced' | 'serviceTier' | 'billedKeyId'>;

const NOT_BILLED: Measured = { billable: false, tokens: NO_TOKENS };

/**
 * Whether an answer must be read whole, however large, to be billed: a background response's creation (its id) and
 * retrieval (its usage). Other answers that stream through are billed by their plan (speech by character; images and
 * transcriptions by the usage their JSON ends with, answerEndMeasured, else at their estimate).
 */
export function needsWholeAnswer(plan: MeterPlan): boolean {
  return plan.kind === 'retrieval' || plan.deferred;
}

/** Whether a successful answer must be read for metering (beyond the token calls the proxy reads itself). */
export function measuresAnswer(plan: MeterPlan): boolean {
  return plan.kind === 'image' || plan.kind === 'transcription' || plan.kind === 'retrieval' || plan.kind === 'speech' || plan.deferred || plan.freeModelCall;
}

function parseObject(buf: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(buf.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Image tokens of a GPT Image answer: output tokens are image tokens unless the answer splits them. */
function imageTokens(usage: unknown): TokenCounts | null {
  const t = tokensFromUsage(usage);
  if (t && t.imageOutput === undefined && t.audioOutput === undefined) t.imageOutput = t.output;
  return t;
}

/**
 * Billing of an image answer: per image in `data` (DALL·E), or by its usage (GPT Image); the estimate without either.
 * An answer read only at its end (answerEnd: its usage, not its `data`) counts the images asked for.
 */
function measureImages(plan: MeterPlan, answer: Record<string, unknown> | null, streamedTokens: TokenCounts | null, answerEnd = false): Measured {
  if (answer === null && streamedTokens === null) {
    // An answer not read (streamed through for its size, or not JSON): billed at its estimate (DALL·E: every image asked for).
    return { billable: true, tokens: NO_TOKENS, units: plan.units, costNanoUsd: plan.estimateNano };
  }
  const count = Array.isArray(answer?.data) ? answer.data.length : answerEnd ? plan.units : 0;
  if (plan.price?.images) return { billable: true, tokens: NO_TOKENS, units: count, costNanoUsd: count * plan.unitNano };
  const tokens = streamedTokens ?? imageTokens(answer?.usage);
  if (tokens) return { billable: true, tokens, units: count };
  return { billable: true, tokens: NO_TOKENS, units: count, costNanoUsd: plan.estimateNano };
}

/** Billing of a transcription: the seconds or tokens its answer reports; the estimate when it reports neither (text formats). */
function measureTranscription(plan: MeterPlan, answer: Record<string, unknown> | null, streamedTokens: TokenCounts | null): Measured {
  const usage = answer?.usage as Record<string, unknown> | undefined;
  const duration = typeof answer?.duration === 'number' && answer.duration >= 0 ? answer.duration : null;
  const reported = usage?.type === 'duration' && typeof usage.seconds === 'number' && usage.seconds >= 0 ? usage.seconds : duration;
  const seconds = reported === null ? 0 : Math.ceil(reported);
  const price = plan.price;
  if (price?.minutes !== undefined && reported !== null) {
    return { billable: true, tokens: NO_TOKENS, units: seconds, costNanoUsd: Math.round((seconds * price.minutes * 1e9) / 60) };
  }
  const tokens = streamedTokens ?? (usage?.type === 'duration' ? null : tokensFromUsage(usage));
  if (tokens && price?.minutes === undefined) return { billable: true, tokens, units: seconds };
  return { billable: true, tokens: NO_TOKENS, units: seconds, costNanoUsd: plan.estimateNano };
}

const UNFINISHED = new Set(['queued', 'in_progress']);

/**
 * Bills a retrieved background response's usage once, at the rates of the tier it ran at (the Response names it, or its
 * stream's did): only the retrieval that claims it is billed.
 */
async function measureRetrieval(
  g: GatewayContext,
  info: RequestInfo,
  answer: Record<string, unknown> | null,
  streamedTokens: TokenCounts | null,
  streamedTier: string | null = null,
): Promise<Measured> {
  const reported = streamedTokens ?? (answer && !UNFINISHED.has(String(answer.status)) ? tokensFromUsage(answer.usage) : null);
  if (!reported) return NOT_BILLED;
  // A usage naming no output count (`output_tokens: null`): the Response's text counted, as for any answer.
  const tokens = streamedTokens === null && reported.outputUnnamed ? await withUnnamedCounted(null, reported, answer) : reported;
  // GET /responses/{id}, or POST /responses/{id}/cancel.
  const id = info.endpoint.slice('/responses/'.length).split('/')[0];
  let claimed: Awaited<ReturnType<typeof claimBackgroundResponse>>;
  try {
    claimed = await claimBackgroundResponse(g.app.deps, info.record.orgId, id);
  } catch {
    // Not claimed: it stays awaiting billing, and the next retrieval of it bills it.
    return NOT_BILLED;
  }
  if (!claimed) return NOT_BILLED;
  const model = claimed.model ?? (typeof answer?.model === 'string' ? answer.model : null);
  const price = meteringPrice(g.config.prices, g.config.defaultPrice, model);
  const serviceTier = streamedTier ?? answeredServiceTier(answer?.service_tier);
  // Billed to the key that created it (a key pays for what it used): whichever key of the project retrieves it.
  const billedKeyId = claimed.apiKeyId ?? undefined;
  return {
    billable: true,
    tokens,
    model,
    priced: pricesTokens(price) && pricesWebSearches(price, tokens),
    costNanoUsd: costNanoUsd(price, tokens, serviceTier),
    serviceTier,
    ...(billedKeyId ? { billedKeyId } : {}),
  };
}

/** A background response's creation: billed now if it already finished, else recorded to be billed when retrieved. */
async function measureDeferred(g: GatewayContext, info: RequestInfo, answer: Record<string, unknown> | null): Promise<Measured> {
  if (!answer || typeof answer.id !== 'string') return NOT_BILLED;
  const tokens = UNFINISHED.has(String(answer.status)) ? null : tokensFromUsage(answer.usage);
  if (tokens) return { billable: true, tokens: tokens.outputUnnamed || tokens.inputUnnamed ? await withUnnamedCounted(info.body, tokens, answer) : tokens, serviceTier: answeredServiceTier(answer.service_tier) };
  await recordBackgroundResponse(g.app.deps, {
    responseId: answer.id,
    orgId: info.record.orgId,
    projectId: info.record.projectId,
    apiKeyId: info.record.id,
    model: info.plan.model,
  });
  return NOT_BILLED;
}

/**
 * What a successful buffered answer was billed, for the plans `measuresAnswer` names. Rejects only when a background
 * response cannot be recorded for billing (the database is unreachable): the caller must not hand out its id unbilled.
 */
export function measureAnswer(g: GatewayContext, info: RequestInfo, buf: Buffer): MaybePromise<Measured> {
  const plan = info.plan;
  if (plan.kind === 'speech') return { billable: true, tokens: NO_TOKENS, units: plan.units, costNanoUsd: plan.estimateNano };
  const answer = parseObject(buf);
  if (plan.kind === 'image') return measureImages(plan, answer, null);
  if (plan.kind === 'transcription') return measureTranscription(plan, answer, null);
  if (plan.kind === 'retrieval') return measureRetrieval(g, info, answer, null);
  if (plan.deferred) return measureDeferred(g, info, answer);
  // A moderation: free, its tokens recorded when its answer reports any (OpenAI's do not; compatible servers may).
  if (plan.freeModelCall) return { billable: false, tokens: tokensFromUsage(answer?.usage) ?? NO_TOKENS };
  return NOT_BILLED;
}

/**
 * What a successful buffered answer that is no token call was billed (nothing, for most). When a background response
 * cannot be recorded for billing, the request is metered unbilled and answered 503: its id is not handed out unbilled.
 */
export function meteredAnswer(g: GatewayContext, info: RequestInfo, admission: Admission, buf: Buffer, upstreamMs: number): MaybePromise<Measured> {
  if (!measuresAnswer(info.plan)) return NOT_BILLED;
  const measured = measureAnswer(g, info, buf);
  if (!isPending(measured)) return measured;
  return measured.catch((err: unknown) => {
    meterAndSettle(g, info, admission, { status: 503, outcome: 'upstream_error', billable: false, tokens: NO_TOKENS, upstreamMs, streamed: false, errorCode: 'metering_unavailable' });
    // Not to be retried: the provider runs this response whoever reads it; a retry would start another, unbilled too.
    // The database's own words (a table, a constraint, a path) are the log's (the cause), not the client's.
    throw answeredAfterSending(
      Object.assign(
        new TollgateError('service_unavailable', 'The background response could not be recorded for billing; it was not handed out, though the provider may run it; sending the request again starts another.'),
        { cause: err },
      ),
    );
  });
}

/** Bytes kept of the end of an answer passed through for its size, to read the usage it ends with. */
export const ANSWER_END_BYTES = 64 * 1024;

/**
 * Whether an answer passed through for its size is billed by the usage it ends with (answerEndMeasured): a JSON
 * image or transcription answer, OpenAI's `usage` last. Never another type: a plain-text transcript ends in what was
 * said, which could spell a usage.
 */
export function readsAnswerEnd(plan: MeterPlan, contentType: string | string[] | undefined): boolean {
  return (plan.kind === 'image' || plan.kind === 'transcription') && isJsonMediaType(mediaTypeOf(contentType));
}

/**
 * What a whole image or transcription answer passed through for its size was billed: the usage at its end (`first`
 * its first byte, `tail` its last bytes), as the same answer read whole would be; without one there, as an answer not
 * read (measureStream).
 */
export function answerEndMeasured(g: GatewayContext, info: RequestInfo, first: number, tail: Buffer): MaybePromise<Measured> {
  const usage = first === 0x7b ? usageAtJsonEnd(tail) : null;
  if (usage === null) return measureStream(g, info, null, true);
  // Only an image's or a transcription's plan reads its answer's end (readsAnswerEnd).
  return info.plan.kind === 'image' ? measureImages(info.plan, { usage }, null, true) : measureTranscription(info.plan, { usage }, null);
}

/**
 * What a streamed answer (images, transcriptions, a retrieved background response) was billed, from its usage and the
 * service tier it named.
 */
export function measureStream(g: GatewayContext, info: RequestInfo, tokens: TokenCounts | null, complete: boolean, serviceTier: string | null = null): MaybePromise<Measured> {
  const plan = info.plan;
  if (plan.kind === 'image') return measureImages(plan, null, tokens && tokens.imageOutput === undefined ? { ...tokens, imageOutput: tokens.output } : tokens);
  if (plan.kind === 'transcription') return measureTranscription(plan, null, tokens);
  if (plan.kind === 'speech') return measureAnswer(g, info, Buffer.alloc(0));
  if (plan.kind === 'retrieval' && complete) return measureRetrieval(g, info, null, tokens, serviceTier);
  return NOT_BILLED;
}
