import type { TokenCounts } from '../pricing.js';
import { anthropicServiceTier, openAIAnswerServiceTier } from '../service-tier.js';
import { answeredSpeed, type Speed, speedNamed } from '../speed.js';
import { deltaText, namesOutputCount, tokensFromUsage, withAnthropicDelta } from '../usage-extract.js';
import { HIDDEN_BLOCKS } from './message-to-chat-completion.js';
import { chatEvent, chatUsageOf, isObject, type Json, MAX_KEPT_TEXT, thinkingTokensOf } from './shared.js';
import { finishReasonOf } from './stop-reasons.js';

// An Anthropic message stream as OpenAI chat completion chunks, event by event: message_start opens the assistant's
// message, text deltas are content deltas, a tool_use block and its input_json_delta pieces are one tool call and its
// argument pieces (streamed as they come), message_delta gives the finish reason and the output count, message_stop
// ends it (with a usage chunk when the client asked for one) and [DONE]. Thinking is not shown; pings are dropped.

export class MessageStreamToChat {
  /** The counts the stream reported so far (message_start's, then message_delta's over them). */
  tokens: TokenCounts | null = null;
  /** Whether the stream reached message_stop. */
  complete = false;
  /** Whether `tokens` are final (a message_delta reported the output count): message_start's are not. */
  final = false;
  /**
   * The output delivered so far (text, tool input, thinking, shown or not), bounded: counted by the tokenizer when the
   * stream ends before message_delta reports the real output count.
   */
  text = '';
  /** Whether the client's stream has ended (message_stop, or an error event). */
  ended = false;
  /** The tier the stream named (message_start's usage, or message_delta's), by OpenAI's names: core/service-tier.ts. */
  serviceTier: string | null = null;
  /** The speed the stream ran at (message_start's usage, or message_delta's): core/speed.ts; null before any usage. */
  speed: Speed | null = null;
  private id = '';
  private model = '';
  private thinking: number | undefined;
  /** Anthropic's content block index → the tool call's index among the answer's tool calls, for tool_use blocks. */
  private readonly tools = new Map<number, number>();
  /**
   * Tool blocks no argument piece was written for yet → the input their start gave (Anthropic's is `{}`): written as the
   * arguments when the block ends without any. A tool without input came as arguments "" (a whole answer gives "{}",
   * as OpenAI does), which the openai SDK sent back on the next turn, and the translation refused.
   */
  private readonly unwritten = new Map<number, string>();
  /** Blocks that are not shown (thinking). */
  private readonly hidden = new Set<number>();
  private finish: string | null = null;
  /**
   * Whether the stream reached message_stop without its final usage (none, or no output count) while its client asked
   * for a usage chunk, and `awaitCount` holds that chunk (and [DONE]) for finishWith(): the client is shown the counts
   * billed, not 0 (or message_start's 1 output token).
   */
  awaitingCount = false;

  /**
   * `awaitCount`: a stream without its final usage whose client asked for it is ended by finishWith(counted), not at
   * message_stop.
   * `scrub`: clears the provider's own details (its keys) out of the message of its error event, decoded here.
   */
  constructor(private readonly o: { created: number; includeUsage: boolean; awaitCount?: boolean; scrub?: (text: string) => string }) {}

  private chunk(delta: Json, finishReason: string | null = null): string {
    return chatEvent({ ...this.head(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  /** What every chunk starts with: as OpenAI's, the tier in each once known (when OpenAI has a name for it). */
  private head(): Json {
    const head: Json = { id: this.id, object: 'chat.completion.chunk', created: this.o.created, model: this.model };
    const tier = openAIAnswerServiceTier(this.serviceTier);
    if (tier !== null) head.service_tier = tier;
    return head;
  }

  /** The chunks for one Anthropic event (its `data:` JSON text), or '' when it has none. */
  push(data: string | null): string {
    if (data === null || this.ended) return '';
    let e: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isObject(parsed)) return '';
      e = parsed;
    } catch {
      return '';
    }
    switch (e.type) {
      case 'message_start': {
        const m = isObject(e.message) ? e.message : {};
        this.id = String(m.id ?? '');
        this.model = String(m.model ?? '');
        this.tokens = tokensFromUsage(m.usage) ?? this.tokens;
        this.serviceTier = anthropicServiceTier(isObject(m.usage) ? m.usage.service_tier : null) ?? this.serviceTier;
        this.speed = answeredSpeed(m.usage) ?? this.speed;
        return this.chunk({ role: 'assistant', content: '', refusal: null });
      }
      case 'content_block_start': {
        const index = Number(e.index);
        const block = isObject(e.content_block) ? e.content_block : {};
        if (block.type === 'tool_use') {
          const call = this.tools.size;
          this.tools.set(index, call);
          this.unwritten.set(index, isObject(block.input) ? JSON.stringify(block.input) : '{}');
          return this.chunk({ tool_calls: [{ index: call, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] });
        }
        if (block.type === 'text') return typeof block.text === 'string' && block.text !== '' ? this.chunk({ content: block.text }) : '';
        if (HIDDEN_BLOCKS.has(String(block.type))) this.hidden.add(index);
        else return this.fail(`a '${String(block.type)}' content block has no place in a chat completion`);
        return '';
      }
      case 'content_block_delta': {
        const index = Number(e.index);
        const d = isObject(e.delta) ? e.delta : {};
        this.keep(deltaText(e));
        if (this.hidden.has(index)) return '';
        if (d.type === 'text_delta') return this.chunk({ content: String(d.text ?? '') });
        if (d.type === 'input_json_delta') {
          const call = this.tools.get(index);
          const piece = String(d.partial_json ?? '');
          if (piece !== '') this.unwritten.delete(index);
          return call === undefined ? '' : this.chunk({ tool_calls: [{ index: call, function: { arguments: piece } }] });
        }
        // Citations of documents are only sent when a request asks for them, which a translated one never does.
        return '';
      }
      case 'content_block_stop':
        return this.argumentsUnwritten(Number(e.index));
      case 'message_delta': {
        const d = isObject(e.delta) ? e.delta : {};
        let out = '';
        for (const index of this.unwritten.keys()) out += this.argumentsUnwritten(index);
        if (isObject(e.usage)) {
          this.tokens = withAnthropicDelta(this.tokens, e.usage);
          // Final once it names the output count: without one, message_start's 1 is no count of the answer.
          this.final ||= namesOutputCount(e.usage);
          this.thinking = thinkingTokensOf(e.usage) ?? this.thinking;
          this.serviceTier = anthropicServiceTier(e.usage.service_tier) ?? this.serviceTier;
          this.speed = speedNamed(e.usage) ?? this.speed;
        }
        this.finish = finishReasonOf(d.stop_reason) ?? 'stop';
        return out + this.chunk({}, this.finish);
      }
      case 'message_stop': {
        this.complete = true;
        this.ended = true;
        let out = '';
        if (this.finish === null) out += this.chunk({}, 'stop');
        if (this.o.includeUsage && !this.final && this.o.awaitCount) {
          this.awaitingCount = true;
          return out;
        }
        return out + this.end(this.tokens ?? { input: 0, cached: 0, output: 0 });
      }
      case 'error': {
        const err = isObject(e.error) ? e.error : {};
        const message = String(err.message ?? 'The upstream stream failed.');
        return this.fail(this.o.scrub ? this.o.scrub(message) : message, String(err.type ?? 'api_error'));
      }
      default:
        return '';
    }
  }

  /** The arguments of a tool block that ended without any piece of them: the input its start gave. */
  private argumentsUnwritten(index: number): string {
    const input = this.unwritten.get(index);
    const call = this.tools.get(index);
    if (input === undefined || call === undefined) return '';
    this.unwritten.delete(index);
    return this.chunk({ tool_calls: [{ index: call, function: { arguments: input } }] });
  }

  /** The stream's end held for the counts (awaitCount), with them; '' when none is held. */
  finishWith(counted: TokenCounts): string {
    if (!this.awaitingCount) return '';
    this.awaitingCount = false;
    return this.end(counted);
  }

  /** The usage chunk, when the client asked for one, and [DONE]. */
  private end(tokens: TokenCounts): string {
    const usage = this.o.includeUsage ? chatEvent({ ...this.head(), choices: [], usage: chatUsageOf(tokens, this.thinking) }) : '';
    return usage + chatEvent('[DONE]');
  }

  private keep(text: string): void {
    if (text !== '' && this.text.length < MAX_KEPT_TEXT) this.text += text;
  }

  /** An OpenAI-shaped error event: the stream ends there, incomplete. */
  private fail(message: string, type = 'api_error'): string {
    this.ended = true;
    return chatEvent({ error: { message, type, param: null, code: null } });
  }
}
