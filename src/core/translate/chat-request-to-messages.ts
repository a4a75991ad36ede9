import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import { ANTHROPIC_IMAGE_TYPES, absent, flagOf, isObject, type Json, onlyMembers, parseDataUrl, untranslatable } from './shared.js';

// An OpenAI chat completions request as Anthropic's Messages API request, for an `openai`-SDK app calling a Claude
// model through `/v1/chat/completions`. Every member is either translated or refused with a 400 naming it: nothing is
// dropped. docs/providers.md has the table.

export interface ChatToMessagesOptions {
  /** The model as routed (aliases applied). */
  model: string;
  /** `max_tokens` when the request sets none: Anthropic requires one (the model's largest answer, or a default). */
  defaultMaxTokens: number;
}

export interface MessagesRequest {
  body: Json;
  stream: boolean;
  /** Whether the client asked for a usage chunk at the end of its stream (`stream_options.include_usage`). */
  includeUsage: boolean;
}

type Refuse = (field: string, why: string) => never;

/** Members translated one way or another; anything else is refused. */
const HANDLED = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'stream',
  'stream_options',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'user',
  'safety_identifier',
  'n',
  'response_format',
  'reasoning_effort',
  'service_tier',
  'store',
  'logprobs',
  'frequency_penalty',
  'presence_penalty',
  'metadata',
  'modalities',
  'logit_bias',
]);

/** Why each refused member cannot be translated (anything not listed: Anthropic has no such parameter). */
const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  seed: 'Anthropic has no seed',
  top_logprobs: 'Anthropic returns no log probabilities',
  audio: 'Claude models produce no audio',
  prediction: 'Anthropic has no predicted outputs',
  web_search_options: "Anthropic's web search is a server tool of its own, not this option",
  functions: 'send tools instead (the deprecated functions are not translated)',
  function_call: 'send tool_choice instead (the deprecated function_call is not translated)',
  verbosity: 'Anthropic has no verbosity setting',
  prompt_cache_key: 'Anthropic caches by cache_control breakpoints, not by key',
  prompt_cache_retention: 'Anthropic caches by cache_control breakpoints',
  prompt_cache_options: 'Anthropic caches by cache_control breakpoints',
  moderation: 'Anthropic has no moderation setting',
  // Anthropic has both, priced at a multiple of the model's rates: asked of Claude on its own API, not translated.
  speed: "fast mode is asked for on Anthropic's Messages API (/v1/messages), not through a chat completion",
  inference_geo: "regional inference is asked for on Anthropic's Messages API (/v1/messages), not through a chat completion",
};

const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh']);

/** Translates a chat completions body (a JSON object) into a Messages API body; throws a 400 for what it cannot. */
export function chatRequestToMessages(body: Json, o: ChatToMessagesOptions): MessagesRequest {
  const refuse: Refuse = (field, why) => {
    throw untranslatable('anthropic', o.model, field, why);
  };
  for (const key in body) {
    if (HANDLED.has(key) || absent(body[key])) continue;
    refuse(key, (Object.hasOwn(NO_EQUIVALENT, key) ? NO_EQUIVALENT[key] : undefined) ?? "Anthropic's Messages API has no such parameter");
  }
  const out: Json = { model: o.model };
  const { system, messages } = translateMessages(body.messages, refuse);
  out.max_tokens = maxTokens(body, o.defaultMaxTokens, refuse);
  if (system.length > 0) out.system = system;
  out.messages = messages;

  if (!absent(body.temperature)) {
    if (typeof body.temperature === 'number' && body.temperature > 1) refuse('temperature', `${body.temperature} is out of Anthropic's range (0 to 1)`);
    out.temperature = body.temperature;
  }
  // top_p 1, OpenAI's default, asks for nothing (as n: 1 and zero penalties): left out, since Claude Sonnet 4.5 and later
  // refuse temperature and top_p together. Any other top_p is sent as asked: which models take both is Anthropic's say.
  if (!absent(body.top_p) && body.top_p !== 1) out.top_p = body.top_p;
  if (!absent(body.stop)) out.stop_sequences = typeof body.stop === 'string' ? [body.stop] : body.stop;

  const stream = flagOf(body.stream, 'stream', refuse) === true;
  if (stream) out.stream = true;
  let includeUsage = false;
  if (!absent(body.stream_options)) {
    const so = body.stream_options;
    if (!stream) refuse('stream_options', 'it is only allowed when stream is true');
    if (!isObject(so)) refuse('stream_options', 'it must be an object');
    for (const k in so) if (k !== 'include_usage' && !absent(so[k])) refuse(`stream_options.${k}`, "Anthropic's streams have no such option");
    includeUsage = flagOf(so.include_usage, 'stream_options.include_usage', refuse) === true;
  }

  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  if (!absent(body.tools)) out.tools = translateTools(body.tools, refuse);
  const choice = translateToolChoice(body.tool_choice, refuse);
  const parallel = flagOf(body.parallel_tool_calls, 'parallel_tool_calls', refuse);
  // As OpenAI refuses them ("only allowed when 'tools' are specified"): dropped or sent on, they asked for nothing or
  // for a tool call with no tool to call.
  if (!hasTools) {
    if (parallel !== undefined) refuse('parallel_tool_calls', 'it is only allowed when tools are given');
    if (choice !== null) refuse('tool_choice', 'it is only allowed when tools are given');
  }
  if (parallel === false && hasTools) {
    if (choice?.type !== 'none') out.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
    else out.tool_choice = choice;
  } else if (choice) out.tool_choice = choice;

  const userId = userIdOf(body, refuse);
  if (userId !== undefined) out.metadata = { user_id: userId };

  if (!absent(body.n) && body.n !== 1) refuse('n', 'Anthropic returns one answer per request');
  if (flagOf(body.store, 'store', refuse) === true) refuse('store', 'Anthropic does not store completions');
  if (flagOf(body.logprobs, 'logprobs', refuse) === true) refuse('logprobs', 'Anthropic returns no log probabilities');
  for (const k of ['frequency_penalty', 'presence_penalty'] as const) {
    if (!absent(body[k]) && body[k] !== 0) refuse(k, 'Anthropic has no frequency or presence penalty');
  }
  if (!absent(body.logit_bias) && !(isObject(body.logit_bias) && Object.keys(body.logit_bias).length === 0)) refuse('logit_bias', 'Anthropic has no logit bias');
  if (!absent(body.metadata) && !(isObject(body.metadata) && Object.keys(body.metadata).length === 0)) refuse('metadata', "Anthropic's metadata holds only a user id (send user)");
  if (!absent(body.modalities) && !(Array.isArray(body.modalities) && body.modalities.every((m) => m === 'text'))) refuse('modalities', 'Claude models answer in text only');

  const outputConfig: Json = {};
  if (!absent(body.reasoning_effort)) {
    if (typeof body.reasoning_effort !== 'string' || !EFFORTS.has(body.reasoning_effort)) refuse('reasoning_effort', `'${String(body.reasoning_effort)}' has no Anthropic effort (low, medium, high, xhigh)`);
    outputConfig.effort = body.reasoning_effort;
  }
  const format = translateResponseFormat(body.response_format, refuse);
  if (format) outputConfig.format = format;
  if (Object.keys(outputConfig).length > 0) out.output_config = outputConfig;

  if (!absent(body.service_tier)) {
    if (body.service_tier === 'auto') out.service_tier = 'auto';
    else if (body.service_tier === 'default') out.service_tier = 'standard_only';
    else refuse('service_tier', `Anthropic has no '${String(body.service_tier)}' tier (auto or default)`);
  }
  return { body: out, stream, includeUsage };
}

/**
 * The answer's cap: max_completion_tokens or (its older name) max_tokens, else the fallback. An integer of 1 or more
 * only: Anthropic reads 0 as warming its prompt cache without an answer (a 200 with no content, where OpenAI refuses
 * 0), and would be sent -1, 1.5 or "10" as they came. Refused naming the field that carried it.
 */
function maxTokens(body: Json, fallback: number, refuse: Refuse): number {
  const a = body.max_completion_tokens;
  const b = body.max_tokens;
  if (!absent(a) && !absent(b) && a !== b) refuse('max_tokens', 'it differs from max_completion_tokens; send one');
  const [field, value] = absent(a) ? ['max_tokens', b] : ['max_completion_tokens', a];
  if (absent(value)) return fallback;
  if (value === 0) refuse(field, '0 asks for no answer (Anthropic reads it as warming its prompt cache); send 1 or more');
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) refuse(field, 'it must be an integer of 1 or more');
  return value;
}

function userIdOf(body: Json, refuse: Refuse): unknown {
  const { user, safety_identifier: safety } = body;
  if (!absent(user) && !absent(safety) && user !== safety) refuse('safety_identifier', "it differs from user, and Anthropic's metadata holds one user id");
  return absent(safety) ? (absent(user) ? undefined : user) : safety;
}

interface Turn {
  role: 'user' | 'assistant';
  content: unknown;
  /** Whether content is still the client's string (kept as it is unless the turn is merged with the next). */
  plain: boolean;
}

const asBlocks = (t: Turn): Json[] => (t.plain ? [{ type: 'text', text: t.content as string }] : (t.content as Json[]));

/**
 * System and developer messages before the conversation become the system prompt; user messages and tool results
 * become user turns, assistant messages assistant turns (with tool_use blocks); consecutive turns of one role are
 * merged, as Anthropic needs every tool result of an assistant turn in the one user turn after it.
 *
 * Text with nothing in it (empty, or only whitespace), which OpenAI takes and Anthropic refuses ("text content blocks
 * must be non-empty", "… must contain non-whitespace text"), asks for nothing: it is dropped from the system prompt,
 * an assistant's turn and a tool's result, and an assistant message left with nothing is dropped (the turns around it
 * merged); a user message left with nothing is refused, naming its content.
 */
function translateMessages(messages: unknown, refuse: Refuse): { system: Json[]; messages: Json[] } {
  if (!Array.isArray(messages)) refuse('messages', 'it must be an array');
  const system: Json[] = [];
  const turns: Turn[] = [];
  /** The index of the last message that made a turn (a message dropped for having nothing in it made none). */
  let lastKept = -1;
  const push = (t: Turn, i: number) => {
    lastKept = i;
    const last = turns[turns.length - 1];
    if (last && last.role === t.role) {
      turns[turns.length - 1] = { role: t.role, content: [...asBlocks(last), ...asBlocks(t)], plain: false };
    } else turns.push(t);
  };
  messages.forEach((m: unknown, i: number) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) refuse(at, 'each message must be an object');
    checkMessageMembers(m, at, refuse);
    switch (m.role) {
      case 'system':
      case 'developer': {
        const blocks = textBlocks(m.content, `${at}.content`, refuse).filter(hasText);
        if (blocks.length === 0) return;
        if (turns.length > 0) refuse(`${at}.role`, `a ${m.role} message after the conversation started has no place in Anthropic's messages (its system prompt comes first)`);
        system.push(...blocks);
        return;
      }
      case 'user': {
        const content = typeof m.content === 'string' ? m.content : userBlocks(m.content, `${at}.content`, refuse).filter(hasText);
        if (typeof content === 'string' ? isBlank(content) : content.length === 0) {
          refuse(`${at}.content`, 'a user message is empty (or only whitespace), which Anthropic refuses; leave the message out or give it content');
        }
        push({ role: 'user', content, plain: typeof content === 'string' }, i);
        return;
      }
      case 'assistant': {
        const turn = assistantTurn(m, at, refuse);
        if (turn) push(turn, i);
        return;
      }
      case 'tool': {
        if (typeof m.tool_call_id !== 'string') refuse(`${at}.tool_call_id`, 'a tool message names the tool call it answers');
        const content = typeof m.content === 'string' ? m.content : textBlocks(m.content, `${at}.content`, refuse).filter(hasText);
        const result: Json = { type: 'tool_result', tool_use_id: m.tool_call_id };
        // A result with nothing in it has no content (Anthropic's is optional, and refuses empty text).
        if (typeof content === 'string' ? !isBlank(content) : content.length > 0) result.content = content;
        push({ role: 'user', content: [result], plain: false }, i);
        return;
      }
    }
  });
  // OpenAI reads an assistant message last as history and writes a new reply; Anthropic reads it as a prefill and
  // continues it: the same messages would ask for a different answer. (An empty one last was dropped: nothing to continue.)
  if (lastKept >= 0 && (messages[lastKept] as Json).role === 'assistant') {
    refuse(`messages[${lastKept}]`, 'the conversation ends with an assistant message, which OpenAI answers with a new reply and Anthropic would continue as a prefill; end it with a user or tool message');
  }
  return { system, messages: turns.map((t) => ({ role: t.role, content: t.content })) };
}

/** Whether a text has nothing in it but whitespace (Anthropic refuses such a text block). */
const isBlank = (text: unknown): boolean => typeof text === 'string' && text.trim() === '';

/** Whether a block is not a text block of nothing (see isBlank): kept. */
const hasText = (b: Json): boolean => b.type !== 'text' || !isBlank(b.text);

/**
 * Each role's members in OpenAI's spec (ChatCompletionRequest…Message). A member is checked against its own role's
 * list: one list for every role let a user message's tool_calls, or an assistant's tool_call_id, be dropped unread.
 */
const MESSAGE_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  system: ['role', 'content', 'name'],
  developer: ['role', 'content', 'name'],
  user: ['role', 'content', 'name'],
  assistant: ['role', 'content', 'refusal', 'name', 'audio', 'tool_calls', 'function_call'],
  tool: ['role', 'content', 'tool_call_id'],
};

/** Why a member the spec gives a message is refused (`refusal` is refused where the assistant's turn is read). */
const MESSAGE_MEMBER_REFUSED: Readonly<Record<string, string>> = {
  name: 'Anthropic has no participant names',
  audio: "Claude models produce no audio, and an earlier audio answer cannot be referred to",
  function_call: 'send tool_calls instead (the deprecated function_call is not translated)',
};

/** Refuses a message of a role Anthropic has no place for, and any member its role does not have or that is not translated. */
function checkMessageMembers(m: Json, at: string, refuse: Refuse): void {
  const role = typeof m.role === 'string' && Object.hasOwn(MESSAGE_MEMBERS, m.role) ? m.role : null;
  if (role === null) {
    refuse(`${at}.role`, m.role === 'function' ? 'send tool messages instead (the deprecated function role is not translated)' : `the role '${String(m.role)}' has no Anthropic equivalent`);
  }
  for (const key in m) {
    if (absent(m[key])) continue;
    if (!MESSAGE_MEMBERS[role].includes(key)) refuse(`${at}.${key}`, `OpenAI's ${role} messages have no such member`);
    if (Object.hasOwn(MESSAGE_MEMBER_REFUSED, key)) refuse(`${at}.${key}`, MESSAGE_MEMBER_REFUSED[key]);
  }
}

function textBlocks(content: unknown, at: string, refuse: Refuse): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) refuse(at, 'it must be a string or an array of text parts');
  return content.map((p: unknown, j: number) => {
    if (!isObject(p) || p.type !== 'text') refuse(`${at}[${j}].type`, 'only text parts are allowed here');
    return textBlock(p, `${at}[${j}]`, refuse);
  });
}

/**
 * A text part as a text block. Its other members are refused, not dropped: OpenAI's cache breakpoint, and one a client
 * means for Anthropic (`cache_control`), would otherwise be lost without a word.
 */
function textBlock(p: Json, at: string, refuse: Refuse): Json {
  partMembers(p, ['type', 'text'], at, refuse, 'text');
  return { type: 'text', text: p.text };
}

/** Refuses a content part's members besides `allowed`: OpenAI's cache breakpoint, which its parts have, with its own reason. */
function partMembers(p: Json, allowed: readonly string[], at: string, refuse: Refuse, kind: string): void {
  if (!absent(p.prompt_cache_breakpoint)) refuse(`${at}.prompt_cache_breakpoint`, "Anthropic marks a cache breakpoint with cache_control, which the translation does not set (call /v1/messages to cache a Claude prompt)");
  onlyMembers(p, allowed, at, refuse, `OpenAI's ${kind} parts have no such member`);
}

function userBlocks(content: unknown, at: string, refuse: Refuse): Json[] {
  if (!Array.isArray(content)) refuse(at, 'it must be a string or an array of content parts');
  return content.map((p: unknown, j: number) => {
    const where = `${at}[${j}]`;
    if (!isObject(p)) refuse(where, 'each content part must be an object');
    switch (p.type) {
      case 'text':
        return textBlock(p, where, refuse);
      case 'image_url':
        partMembers(p, ['type', 'image_url'], where, refuse, 'image');
        return imageBlock(p.image_url, `${where}.image_url`, refuse);
      case 'file':
        partMembers(p, ['type', 'file'], where, refuse, 'file');
        return documentBlock(p.file, `${where}.file`, refuse);
      case 'input_audio':
        return refuse(`${where}.type`, 'Claude models take no audio input');
      default:
        return refuse(`${where}.type`, `the content part '${String(p.type)}' has no Anthropic equivalent`);
    }
  });
}

function imageBlock(image: unknown, at: string, refuse: Refuse): Json {
  if (!isObject(image) || typeof image.url !== 'string') return refuse(`${at}.url`, 'an image part needs a url');
  onlyMembers(image, ['url', 'detail'], at, refuse, "OpenAI's image_url has no such member");
  // Claude reads an image at its own resolution: `low` (a cheaper, coarser read), or any other reading, cannot be honoured.
  if (!absent(image.detail) && image.detail !== 'auto' && image.detail !== 'high') {
    refuse(`${at}.detail`, "Anthropic has no such reading of images ('auto' and 'high' are read as Claude reads every image)");
  }
  const data = parseDataUrl(image.url);
  if (data) {
    if (!ANTHROPIC_IMAGE_TYPES.has(data.mediaType)) refuse(`${at}.url`, `Anthropic reads JPEG, PNG, GIF and WebP images, not ${data.mediaType}`);
    return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  }
  if (/^https?:\/\//i.test(image.url)) return { type: 'image', source: { type: 'url', url: image.url } };
  return refuse(`${at}.url`, 'an image is a base64 data URL or an http(s) URL');
}

function documentBlock(file: unknown, at: string, refuse: Refuse): Json {
  if (!isObject(file)) return refuse(at, 'a file part needs a file');
  onlyMembers(file, ['file_data', 'filename', 'file_id'], at, refuse, "OpenAI's file has no such member");
  if (!absent(file.file_id)) refuse(`${at}.file_id`, "an OpenAI file id means nothing to Anthropic (send file_data)");
  const data = typeof file.file_data === 'string' ? parseDataUrl(file.file_data) : null;
  if (!data) return refuse(`${at}.file_data`, 'a file is sent as a base64 data URL');
  if (data.mediaType !== 'application/pdf') refuse(`${at}.file_data`, `Anthropic reads PDF documents, not ${data.mediaType}`);
  const block: Json = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.data } };
  if (typeof file.filename === 'string') block.title = file.filename;
  return block;
}

/** An assistant message as a turn, or null when nothing is left of it (no text but whitespace, no tool calls): dropped. */
function assistantTurn(m: Json, at: string, refuse: Refuse): Turn | null {
  if (!absent(m.refusal)) refuse(`${at}.refusal`, "Anthropic's assistant turns carry no refusal");
  const toolCalls = m.tool_calls;
  if (typeof m.content === 'string' && absent(toolCalls)) return isBlank(m.content) ? null : { role: 'assistant', content: m.content, plain: true };
  const blocks: Json[] = [];
  if (typeof m.content === 'string') {
    if (!isBlank(m.content)) blocks.push({ type: 'text', text: m.content });
  } else if (Array.isArray(m.content)) {
    m.content.forEach((p: unknown, j: number) => {
      if (!isObject(p) || p.type !== 'text') refuse(`${at}.content[${j}].type`, "only text parts are translated in an assistant's content");
      const block = textBlock(p, `${at}.content[${j}]`, refuse);
      if (hasText(block)) blocks.push(block);
    });
  } else if (!absent(m.content)) refuse(`${at}.content`, 'it must be a string or an array of text parts');
  if (!absent(toolCalls)) {
    if (!Array.isArray(toolCalls)) refuse(`${at}.tool_calls`, 'it must be an array');
    toolCalls.forEach((c: unknown, j: number) => {
      const where = `${at}.tool_calls[${j}]`;
      if (!isObject(c) || (c.type !== undefined && c.type !== 'function') || !isObject(c.function)) refuse(where, 'only function tool calls are translated');
      onlyMembers(c, ['id', 'type', 'function'], where, refuse, "OpenAI's tool calls have no such member");
      const fn = c.function as Json;
      onlyMembers(fn, ['name', 'arguments'], `${where}.function`, refuse, "OpenAI's tool calls have no such member");
      let input: unknown;
      if (typeof fn.arguments === 'string' && exceedsJsonDepth(fn.arguments)) refuse(`${where}.function.arguments`, `these arguments nest more than ${MAX_JSON_DEPTH} levels deep`);
      try {
        input = JSON.parse(typeof fn.arguments === 'string' ? fn.arguments : '');
      } catch {
        refuse(`${where}.function.arguments`, 'Anthropic takes a tool call as a JSON object, and these arguments are not JSON');
      }
      if (!isObject(input)) refuse(`${where}.function.arguments`, 'Anthropic takes a tool call as a JSON object');
      blocks.push({ type: 'tool_use', id: c.id, name: fn.name, input });
    });
  }
  return blocks.length === 0 ? null : { role: 'assistant', content: blocks, plain: false };
}

function translateTools(tools: unknown, refuse: Refuse): Json[] {
  if (!Array.isArray(tools)) return refuse('tools', 'it must be an array');
  return tools.map((t: unknown, i: number) => {
    const at = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function)) return refuse(`${at}.type`, 'only function tools are translated');
    for (const k in t) if (k !== 'type' && k !== 'function' && !absent(t[k])) refuse(`${at}.${k}`, 'no such member of a tool');
    const fn = t.function;
    const tool: Json = { name: fn.name };
    for (const k in fn) {
      if (absent(fn[k]) || k === 'name') continue;
      if (k === 'description') tool.description = fn.description;
      else if (k === 'parameters') tool.input_schema = fn.parameters;
      else if (k === 'strict') tool.strict = fn.strict;
      else refuse(`${at}.function.${k}`, "Anthropic's tools have no such member");
    }
    // A function without parameters takes none: Anthropic needs that said as an empty object schema.
    tool.input_schema ??= { type: 'object', properties: {} };
    return tool;
  });
}

function translateToolChoice(choice: unknown, refuse: Refuse): Json | null {
  if (absent(choice)) return null;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') {
    for (const k in choice) if (k !== 'type' && k !== 'function' && !absent(choice[k])) refuse(`tool_choice.${k}`, 'no such member of tool_choice');
    for (const k in choice.function) if (k !== 'name' && !absent(choice.function[k])) refuse(`tool_choice.function.${k}`, 'no such member of tool_choice.function');
    return { type: 'tool', name: choice.function.name };
  }
  return refuse('tool_choice', 'Anthropic takes auto, none, required (any) or one named function (tool)');
}

/**
 * `response_format` as Anthropic's `output_config.format`, which is a JSON schema alone (`{type, schema}`): every other
 * member of OpenAI's is translated, documented as not sent (the format's `name`), or refused.
 */
function translateResponseFormat(format: unknown, refuse: Refuse): Json | null {
  if (absent(format)) return null;
  if (!isObject(format)) return refuse('response_format', 'it must be an object');
  if (format.type !== 'text' && format.type !== 'json_schema') {
    return refuse('response_format.type', `Anthropic structures its output by a JSON schema only, not '${String(format.type)}'`);
  }
  onlyMembers(format, format.type === 'text' ? ['type'] : ['type', 'json_schema'], 'response_format', refuse, `OpenAI's ${format.type} response_format has no such member`);
  if (format.type === 'text') return null;
  const at = 'response_format.json_schema';
  const spec = format.json_schema;
  if (!isObject(spec)) return refuse(at, 'it must be an object');
  // OpenAI shows the model the description ("to determine how to respond in the format"); Anthropic's format has
  // nowhere to put one, and moving it into the schema would change the schema the client sent.
  if (!absent(spec.description) && spec.description !== '') refuse(`${at}.description`, "Anthropic's output format is a schema alone, with no description for the model (say in the prompt what the format is for)");
  onlyMembers(spec, ['name', 'description', 'schema', 'strict'], at, refuse, "OpenAI's json_schema has no such member");
  // Anthropic always holds the output to the schema: what strict: true asks for, and an answer strict: false accepts.
  flagOf(spec.strict, `${at}.strict`, refuse);
  if (!isObject(spec.schema)) return refuse(`${at}.schema`, 'Anthropic structures its output by a JSON schema, and none is given');
  return { type: 'json_schema', schema: spec.schema };
}
