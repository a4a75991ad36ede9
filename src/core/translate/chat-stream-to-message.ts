import type { TokenCounts } from '../pricing.js';
import { answeredServiceTier, anthropicAnswerServiceTier } from '../service-tier.js';
import { deltaText, tokensFromUsage } from '../usage-extract.js';
import { anthropicEvent, anthropicUsageOf, isObject, type Json, MAX_KEPT_TEXT, messageId, nonEmpty } from './shared.js';
import { stopReasonOf } from './stop-reasons.js';

// OpenAI chat completion chunks as an Anthropic message stream, chunk by chunk: the first chunk opens the message
// (message_start), content deltas are a text block's text_delta events, each tool call a tool_use block whose argument
// pieces are input_json_delta events as they come, and [DONE] closes the open block and ends the message with
// message_delta (stop reason and usage: OpenAI reports the input only at the end, so message_start says 0 and
// message_delta the real counts, as Anthropic's own message_delta may) and message_stop.
//
// Anthropic sends each block's start, deltas and stop together and never a delta to a stopped block, while an
// OpenAI-compatible upstream may interleave parallel tool calls' argument pieces (index 0, 1, 0, 1). So a tool block,
// once open, stays open until the choice finishes; what comes meanwhile for another block (a later tool call, text
// after a tool call) is held, and sent as whole blocks in order when the open one is stopped.
//
// A tool call is told apart by its id as well as its index: Ollama's OpenAI-compatible API streams every parallel call
// at `index: 0` (ollama/ollama#15457), older builds with no index at all (ollama/ollama#7881), each call with its own
// id. Keyed by index alone, the second call's id and name were dropped and its arguments glued onto the first's.

export class ChatStreamToMessage {
  tokens: TokenCounts | null = null;
  /** Whether the stream reached [DONE]. */
  complete = false;
  /** Whether `tokens` are final: a chat stream reports its usage once, at the end. */
  get final(): boolean {
    return this.tokens !== null;
  }
  /** Whether the client's stream has ended ([DONE], or an error chunk). */
  ended = false;
  /** The output generated so far, tool arguments included, bounded (counted by the tokenizer when no usage came). */
  text = '';
  /** The tier the chunks named (OpenAI's `service_tier`, in every chunk), as recorded. */
  serviceTier: string | null = null;
  private started = false;
  private next = 0;
  /** The content block open now: its index, and the tool call it is (null for text). */
  private open: { index: number; tool: number | null } | null = null;
  /** The tool calls seen (by key, see callKey), whether their block is open, held or sent. */
  private readonly tools = new Set<number>();
  /** The call each OpenAI index stands for now: its key and its id ('' when it came without one). */
  private readonly byIndex = new Map<number, { key: number; id: string }>();
  /** The key of each call by its id, and of the call begun last, for the pieces that come without an index. */
  private readonly byId = new Map<string, number>();
  private lastCall: number | null = null;
  private calls = 0;
  /** Blocks held while a tool block is open, in the order they began: their start and their pieces. */
  private held: Array<{ tool: number | null; block: Json; pieces: string[] }> = [];
  private stopReason: string | null = null;
  /**
   * Whether the stream reached [DONE] without any usage, and `awaitCount` holds its end (message_delta, message_stop)
   * for finishWith(): the client is shown the counts the caller counts and bills, not 0.
   */
  awaitingCount = false;

  /**
   * `requestId`: Tollgate's id of the request, for an error event's `request_id`. `awaitCount`: a stream without usage
   * is ended by finishWith(counted), not at [DONE]. `scrub`: clears the provider's own details (its keys) out of the
   * message of its error chunk, decoded here from the JSON the provider wrote.
   */
  constructor(private readonly o: { model: string; requestId?: string; awaitCount?: boolean; scrub?: (text: string) => string }) {}

  /** Whether a chunk can open the message: it names an id, or has a choice to show (which cannot wait for one). */
  private static opens(chunk: Json): boolean {
    return nonEmpty(chunk.id) || (Array.isArray(chunk.choices) && chunk.choices.length > 0);
  }

  private start(chunk: Json): string {
    this.started = true;
    const message = {
      id: messageId(chunk.id, this.o.requestId),
      type: 'message',
      role: 'assistant',
      model: nonEmpty(chunk.model) ? chunk.model : this.o.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: this.withTier({ input_tokens: 0, output_tokens: 0 }),
    };
    return anthropicEvent('message_start', { message });
  }

  /** `usage` with the tier by Anthropic's name, as Anthropic's own usage carries it, once known (and when it has one). */
  private withTier(usage: Json): Json {
    const tier = anthropicAnswerServiceTier(this.serviceTier);
    return tier === null ? usage : { ...usage, service_tier: tier };
  }

  /** Stops the open block, then sends each held block whole (start, its pieces, stop). */
  private close(): string {
    if (!this.open) return '';
    let out = anthropicEvent('content_block_stop', { index: this.open.index });
    this.open = null;
    const held = this.held;
    this.held = [];
    for (const h of held) {
      const index = this.next++;
      out += anthropicEvent('content_block_start', { index, content_block: h.block });
      if (h.pieces.length > 0) out += anthropicEvent('content_block_delta', { index, delta: pieceDelta(h.tool, h.pieces.join('')) });
      out += anthropicEvent('content_block_stop', { index });
    }
    return out;
  }

  private openBlock(tool: number | null, block: Json): string {
    const out = this.close();
    const index = this.next++;
    this.open = { index, tool };
    return out + anthropicEvent('content_block_start', { index, content_block: block });
  }

  /** Whether a tool block is open: it may still get pieces, so no other block may start yet. */
  private get holding(): boolean {
    return this.open !== null && this.open.tool !== null;
  }

  private textDelta(text: string): string {
    if (this.holding) {
      const last = this.held.at(-1);
      if (last && last.tool === null) last.pieces.push(text);
      else this.held.push({ tool: null, block: { type: 'text', text: '' }, pieces: [text] });
      return '';
    }
    const out = this.open ? '' : this.openBlock(null, { type: 'text', text: '' });
    return out + anthropicEvent('content_block_delta', { index: this.open?.index, delta: { type: 'text_delta', text } });
  }

  /**
   * The key of the call a tool_calls entry belongs to. At an index in use, an id other than that call's (non-empty
   * both) begins a new call; without an index, an id not seen begins a new call, and a piece without id belongs to the
   * call begun last. Repeated ids, and empty or absent ones on later pieces, continue their call.
   */
  private callKey(call: Json): number {
    const id = nonEmpty(call.id) ? call.id : '';
    if (typeof call.index === 'number') {
      const current = this.byIndex.get(call.index);
      if (current && (id === '' || current.id === '' || id === current.id)) return current.key;
      const key = this.newCall(id);
      this.byIndex.set(call.index, { key, id });
      return key;
    }
    if (id !== '') return this.byId.get(id) ?? this.newCall(id);
    return this.lastCall ?? this.newCall('');
  }

  private newCall(id: string): number {
    const key = this.calls++;
    if (id !== '') this.byId.set(id, key);
    this.lastCall = key;
    return key;
  }

  /** One piece of a tool call's arguments: to its block when open, else held with it. */
  private toolDelta(tool: number, call: Json, fn: Json): string {
    let out = '';
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (!this.tools.has(tool)) {
      this.tools.add(tool);
      const block = { type: 'tool_use', id: call.id, name: fn.name, input: {} };
      if (this.holding) this.held.push({ tool, block, pieces: [] });
      else out += this.openBlock(tool, block);
    }
    if (args === '') return out;
    if (this.open?.tool === tool) return out + anthropicEvent('content_block_delta', { index: this.open.index, delta: pieceDelta(tool, args) });
    this.held.find((h) => h.tool === tool)?.pieces.push(args);
    return out;
  }

  private keep(text: string): void {
    if (this.text.length < MAX_KEPT_TEXT) this.text += text;
  }

  /** The Anthropic events for one chunk's `data:` text ([DONE] included), or '' when it has none. */
  push(data: string | null): string {
    if (data === null || this.ended) return '';
    if (data.trim() === '[DONE]') return this.done();
    let chunk: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isObject(parsed)) return '';
      chunk = parsed;
    } catch {
      return '';
    }
    if (isObject(chunk.error)) {
      this.ended = true;
      // Tollgate's error event, shaped as its others on these paths: the request's id, and a code (the provider's).
      const code = typeof chunk.error.code === 'string' && chunk.error.code !== '' ? chunk.error.code : 'upstream_error';
      const message = String(chunk.error.message ?? 'The upstream stream failed.');
      const error = { type: 'api_error', message: this.o.scrub ? this.o.scrub(message) : message, details: { error_code: code } };
      return anthropicEvent('error', { error, request_id: this.o.requestId ?? null });
    }
    this.serviceTier = answeredServiceTier(chunk.service_tier) ?? this.serviceTier;
    // Azure's first chunk may carry only the prompt's filter results (no choices, id "" and model ""): the message is
    // opened by the first chunk that names an id or has a choice, else it would have had an empty id and model.
    let out = this.started || !ChatStreamToMessage.opens(chunk) ? '' : this.start(chunk);
    if (isObject(chunk.usage)) this.tokens = tokensFromUsage(chunk.usage) ?? this.tokens;
    // What the chunk generated, counted if no usage comes: all of it, as a native stream's is counted (deltaText), the
    // reasoning an OpenAI-compatible server sends beside the content (`reasoning_content`, `reasoning`) included,
    // though the translation shows it not. Kept only of the text and tool arguments shown, a translated stream of a
    // reasoning server without usage was billed 2 output tokens where the same stream native was billed 4,002.
    if (this.text.length < MAX_KEPT_TEXT) this.keep(deltaText(chunk));
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isObject(choice)) return out;
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') out += this.textDelta(delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      out += this.textDelta(delta.refusal);
      this.stopReason = 'refusal';
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        if (!isObject(call)) continue;
        out += this.toolDelta(this.callKey(call), call, isObject(call.function) ? call.function : {});
      }
    }
    if (!absentReason(choice.finish_reason)) {
      if (this.stopReason !== 'refusal') this.stopReason = stopReasonOf(choice.finish_reason);
      // The choice is over: no more pieces for the open block, and the held ones can go now rather than at [DONE].
      out += this.close();
    }
    return out;
  }

  private done(): string {
    this.complete = true;
    this.ended = true;
    let out = this.started ? '' : this.start({});
    out += this.close();
    if (this.tokens === null && this.o.awaitCount) {
      this.awaitingCount = true;
      return out;
    }
    return out + this.end(this.tokens ?? { input: 0, cached: 0, output: 0 });
  }

  /** The stream's end held for the counts (awaitCount), with them; '' when none is held. */
  finishWith(counted: TokenCounts): string {
    if (!this.awaitingCount) return '';
    this.awaitingCount = false;
    return this.end(counted);
  }

  /** message_delta (the stop reason and the usage) and message_stop. */
  private end(tokens: TokenCounts): string {
    const usage = this.withTier(anthropicUsageOf(tokens));
    return anthropicEvent('message_delta', { delta: { stop_reason: this.endReason(), stop_sequence: null }, usage }) + anthropicEvent('message_stop', {});
  }

  /**
   * The message's stop reason: tool calls under finish_reason `stop` (or none: Ollama's and vLLM's servers, OpenAI's
   * own for a named tool_choice) are calls to run all the same, tool_use, as agent loops read it.
   */
  private endReason(): string {
    const reason = this.stopReason ?? 'end_turn';
    return reason === 'end_turn' && this.tools.size > 0 ? 'tool_use' : reason;
  }
}

const absentReason = (v: unknown) => v === null || v === undefined;

/** A piece of a block's content: a tool call's arguments (input_json_delta) or text (text_delta). */
const pieceDelta = (tool: number | null, piece: string): Json =>
  tool === null ? { type: 'text_delta', text: piece } : { type: 'input_json_delta', partial_json: piece };
