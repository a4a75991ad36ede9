import { TollgateError } from '../../core/errors.js';
import { boundTokens, imagePartTokens } from '../../core/estimate.js';
import type { MeterPlan } from '../../core/metering-plan.js';
import { maxInputTokens, maxOutputTokens } from '../../core/model-limits.js';
import type { TokenCounts } from '../../core/pricing.js';
import { asksForAudioOutput, countFallbackTokens, type ShowsAllOutput, wouldReadOn } from './token-fallback.js';

// A model call the gateway itself cuts at its provider's `total_ms`, once sent, goes on at the provider, which bills
// the generation as it bills one whose client hung up: an o3 answer past its deadline (90,000 tokens, 89,990 of them
// reasoning) was billed nothing whole and $0.000042 streamed, and its hard cap's reservation released (found by a
// review). It is read on for its usage (deadline-read-on.ts); when the read-on ends without it, it is billed a bound:
// what a hard cap reserves for it.

/**
 * Whether a model call cut at its deadline is read on past it (deadline-read-on.ts), and billed deadlineBound when that
 * read-on ends without its usage: a whole answer always (billed whoever waits for it), a stream when a hang-up would
 * have read it on (wouldReadOn, or its generation over with only its usage to come); a stream a hang-up would cut is
 * cut, and billed what it delivered, as then.
 */
export function billsBoundAtDeadline(
  stream: boolean,
  generation: { finished: boolean } | null,
  body: Record<string, unknown> | null,
  model: string | null,
  plan: MeterPlan,
  showsAll: ShowsAllOutput,
): boolean {
  if (plan.kind !== 'tokens') return false;
  if (!stream || generation?.finished === true) return true;
  return wouldReadOn(body, model, plan, showsAll);
}

/**
 * The most a model call may have cost, as tokens: its input counted by the tokenizer (countFallbackTokens), and the most
 * output it may generate (its max_tokens, max_completion_tokens or max_output_tokens, else the model's largest answer,
 * times the answers it asks for: core/estimate.ts boundTokens), as audio output when it asks to speak and its price has
 * an audio rate.
 */
export async function deadlineBound(body: Record<string, unknown> | null, endpoint: string, model: string | null, plan: MeterPlan): Promise<TokenCounts> {
  const input = (await countFallbackTokens(body, '')).input;
  const price = plan.price;
  const largest = maxOutputTokens(model, () => price?.max_output_tokens);
  let output: number;
  try {
    output = boundTokens(body, endpoint, largest, maxInputTokens(model, () => price?.max_input_tokens), imagePartTokens(model)).output;
  } catch (err) {
    // A member the bound reads given in two spellings: the model's largest answer.
    if (!(err instanceof TollgateError)) throw err;
    output = largest;
  }
  const spoken = price?.audio_output !== undefined && asksForAudioOutput(body);
  return { input, cached: 0, output, ...(spoken ? { audioOutput: output } : {}) };
}

/** Each count of `a` and `b`, the larger: a stream cut at its deadline is billed no less than it delivered. */
export function largerCounts(a: TokenCounts, b: TokenCounts): TokenCounts {
  const out: TokenCounts = { ...a, input: Math.max(a.input, b.input), output: Math.max(a.output, b.output) };
  const audioOutput = Math.max(a.audioOutput ?? 0, b.audioOutput ?? 0);
  if (audioOutput > 0) out.audioOutput = audioOutput;
  return out;
}
