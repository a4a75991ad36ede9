import { contentText, countTokens, type GeneratedText, generatedText } from '../core/tokenizer.js';
import {
  checkKnown,
  KNOWN_PARAMETERS,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalObject,
  SERVICE_TIERS,
  samplingParameters,
  servedServiceTier,
  streamParameters,
  typeName,
} from './echo-checks.js';
import { responsesOutput } from './echo-output.js';
import { type EchoEvent, json, refuse, sse } from './echo-wire.js';
import type { UpstreamResponse } from '../core/upstream.js';

// `POST /responses` of the built-in model: the Response object with every member OpenAI's specification requires,
// and, streamed, OpenAI's whole sequence of named events (created, in_progress, output_item.added,
// content_part.added, output_text.delta…, output_text.done, content_part.done, output_item.done, completed), each with
// its sequence_number, so that the SDKs' stream helpers assemble the same Response the non-streamed call returns.

type Body = Record<string, unknown>;

/** The text of the input's last user message (a string input is one). */
function lastUserInput(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { role?: unknown; content?: unknown; type?: unknown };
    if (item?.role === 'user' && (item.type === undefined || item.type === 'message')) return contentText(item.content);
  }
  return '';
}

/** Every text of the input and instructions, for counting input tokens. */
function inputTexts(input: unknown, instructions: unknown): string[] {
  const texts = typeof instructions === 'string' ? [instructions] : [];
  if (typeof input === 'string') texts.push(input);
  else if (Array.isArray(input)) {
    for (const item of input) {
      const i = item as { content?: unknown; output?: unknown; arguments?: unknown };
      texts.push(contentText(i?.content));
      if (typeof i?.output === 'string') texts.push(i.output);
      if (typeof i?.arguments === 'string') texts.push(i.arguments);
    }
  }
  return texts;
}

/** Refuses what a model that stores nothing and answers at once cannot do. */
function checkStatelessRequest(body: Body): void {
  const stateless = "The built-in model 'tollgate-echo' stores no responses and no conversations";
  if (typeof body.previous_response_id === 'string') {
    refuse('invalid_value', `Previous response with id '${body.previous_response_id.slice(0, 100)}' not found. ${stateless}.`, 'previous_response_id');
  }
  if (body.conversation !== undefined && body.conversation !== null) refuse('invalid_value', `${stateless}: 'conversation' cannot be used with it.`, 'conversation');
  if (body.prompt !== undefined && body.prompt !== null) refuse('invalid_value', `${stateless}: it has no prompt templates to use.`, 'prompt');
  if (optionalBoolean(body, 'background') === true) refuse('invalid_value', `${stateless}, and answers at once: 'background' cannot be true.`, 'background');
}

/** The logprobs of output text from a deterministic model: each token had probability 1. */
function textLogprobs(pieces: string[], wanted: boolean) {
  if (!wanted) return [];
  return pieces.map((token) => {
    const bytes = [...Buffer.from(token)];
    return { token, logprob: 0, bytes, top_logprobs: [] };
  });
}

/** `POST /responses`. */
export async function createResponse(body: Body, id: string, created: number, model: string): Promise<UpstreamResponse> {
  checkKnown(body, KNOWN_PARAMETERS.responses);
  checkStatelessRequest(body);
  const input = body.input;
  if (input === undefined || input === null) refuse('missing_required_parameter', "Missing required parameter: 'input'.", 'input');
  if (typeof input !== 'string' && !Array.isArray(input)) {
    refuse('invalid_type', `Invalid type for 'input': expected one of a string or array of input items, but got ${typeName(input)} instead.`, 'input');
  }
  const instructions = body.instructions ?? null;
  if (instructions !== null && typeof instructions !== 'string') {
    refuse('invalid_type', `Invalid type for 'instructions': expected a string, but got ${typeName(instructions)} instead.`, 'instructions');
  }
  const { stream } = streamParameters(body);
  samplingParameters(body);
  const max = optionalInteger(body, 'max_output_tokens', 16);
  const topLogprobs = optionalInteger(body, 'top_logprobs', 0, 20);
  optionalEnum(body, 'truncation', ['auto', 'disabled'] as const);
  const serviceTier = servedServiceTier(body, SERVICE_TIERS.responses);
  const metadata = optionalObject(body, 'metadata') ?? {};
  const include = body.include ?? [];
  if (!Array.isArray(include)) refuse('invalid_type', `Invalid type for 'include': expected an array, but got ${typeName(include)} instead.`, 'include');
  const withLogprobs = (include as unknown[]).includes('message.output_text.logprobs');

  const output = responsesOutput(body, () => inputTexts(input, instructions));
  // The answer's text: the echo, or JSON built from it (text.format, a forced function call's arguments).
  const echoed = lastUserInput(input);
  const out: GeneratedText = await generatedText(output.kind === 'text' ? echoed : output.build(echoed), max);
  let inputTokens = 0;
  for (const t of inputTexts(input, instructions)) inputTokens += await countTokens(t);
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: out.tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + out.tokens,
  };
  const itemId = `${output.kind === 'tool' ? 'fc' : 'msg'}_${id.slice('resp_'.length)}`;
  const finalStatus = out.truncated ? 'incomplete' : 'completed';
  const part = (text: string, pieces: string[]) => ({ type: 'output_text', text, annotations: [], logprobs: textLogprobs(pieces, withLogprobs) });
  const message = (status: string, content: unknown[]) => ({ id: itemId, type: 'message', status, role: 'assistant', content });
  // The request's own settings, as OpenAI's Response object repeats them (defaults where the request named none).
  const response = (status: string, output: unknown[], done: boolean) => ({
    id,
    object: 'response',
    created_at: created,
    status,
    background: false,
    completed_at: done && status === 'completed' ? created : null,
    error: null,
    incomplete_details: done && out.truncated ? { reason: 'max_output_tokens' } : null,
    instructions,
    max_output_tokens: max ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: serviceTier,
    // Nothing is kept: a stored response could not be retrieved from the echo model.
    store: false,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_logprobs: topLogprobs ?? 0,
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    // OpenAI's in-progress snapshots say `usage: null`; the specification types it as an object only: left out.
    ...(done ? { usage } : {}),
    // The deprecated `user` is a string in the specification: repeated only when sent.
    ...(typeof body.user === 'string' ? { user: body.user } : {}),
    metadata,
  });
  const call = (status: string, args: string) => ({
    id: itemId,
    type: 'function_call',
    status,
    arguments: args,
    call_id: `call_${id.slice('resp_'.length, 'resp_'.length + 22)}`,
    name: output.kind === 'tool' ? output.name : '',
  });
  const finalItem = output.kind === 'tool' ? call(finalStatus, out.text) : message(finalStatus, [part(out.text, out.pieces)]);
  const finished = response(finalStatus, [finalItem], true);
  if (!stream) return json(200, finished);

  let seq = 0;
  const events: EchoEvent[] = [];
  const emit = (type: string, data: Record<string, unknown>) => events.push({ event: type, data: { type, sequence_number: seq++, ...data } });
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  emit('response.created', { response: response('in_progress', [], false) });
  emit('response.in_progress', { response: response('in_progress', [], false) });
  if (output.kind === 'tool') {
    // A function call streams as OpenAI's do: the item with empty arguments, the arguments in pieces, then done.
    emit('response.output_item.added', { output_index: 0, item: call('in_progress', '') });
    for (const piece of out.pieces) emit('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta: piece });
    emit('response.function_call_arguments.done', { item_id: itemId, output_index: 0, name: output.name, arguments: out.text });
  } else {
    emit('response.output_item.added', { output_index: 0, item: message('in_progress', []) });
    emit('response.content_part.added', { ...at, part: part('', []) });
    for (const piece of out.pieces) emit('response.output_text.delta', { ...at, delta: piece, logprobs: textLogprobs([piece], withLogprobs) });
    emit('response.output_text.done', { ...at, text: out.text, logprobs: textLogprobs(out.pieces, withLogprobs) });
    emit('response.content_part.done', { ...at, part: part(out.text, out.pieces) });
  }
  emit('response.output_item.done', { output_index: 0, item: finalItem });
  emit(out.truncated ? 'response.incomplete' : 'response.completed', { response: finished });
  return sse(events);
}
