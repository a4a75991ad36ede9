import { TollgateError } from '../errors.js';
import { ANTHROPIC_IMAGE_TYPES, absent, flagOf, isObject, type Json, onlyMembers, untranslatable } from './shared.js';

// An Anthropic Messages API request as an OpenAI chat completions request, for an Anthropic-SDK client (or Claude
// Code) calling an OpenAI model through `/v1/messages`. Every member is either translated or refused with a 400 naming
// it. cache_control breakpoints are the one thing with no counterpart that is not refused: OpenAI caches prompts
// without being asked (docs/providers.md). What Anthropic's API itself refuses (no max_tokens, a temperature past 1, an
// empty message) is refused here too: OpenAI would take it, unbounded or meaning something else.

export interface ChatRequest {
  body: Json;
  stream: boolean;
}

type Refuse = (field: string, why: string) => never;

const HANDLED = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'tools',
  'tool_choice',
  'metadata',
  'thinking',
  'output_config',
  'service_tier',
  'cache_control',
]);

const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  top_k: 'OpenAI has no top_k',
  container: "OpenAI's chat completions have no code execution containers",
  mcp_servers: "OpenAI's chat completions connect to no MCP servers",
  context_management: "OpenAI's chat completions manage no context",
  inference_geo: 'OpenAI has no inference geography per request',
  speed: 'OpenAI has no fast mode per request',
};

const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh']);

/**
 * Translates a Messages API body (a JSON object) into a chat completions body; throws a 400 for what it cannot.
 * `forCounting` skips what only a model call needs (max_tokens), for `/messages/count_tokens`.
 */
export function messagesRequestToChat(body: Json, o: { model: string; forCounting?: boolean }): ChatRequest {
  const refuse: Refuse = (field, why) => {
    throw untranslatable('openai', o.model, field, why);
  };
  // What Anthropic requires is refused as Anthropic refuses it (its validation's "max_tokens: Field required"):
  // forwarded without max_tokens, the answer would have had no cap.
  for (const field of o.forCounting ? ['messages'] : ['messages', 'max_tokens']) {
    if (body[field] === undefined) throw new TollgateError('missing_required_parameter', `${field}: Field required`, field);
  }
  for (const key in body) {
    if (HANDLED.has(key) || absent(body[key])) continue;
    refuse(key, (Object.hasOwn(NO_EQUIVALENT, key) ? NO_EQUIVALENT[key] : undefined) ?? "OpenAI's chat completions have no such parameter");
  }
  const messages: Json[] = [];
  // An empty system prompt (`[]`, `""`, whitespace alone) asks for nothing: no system message, as an OpenAI client's
  // empty system text sends Anthropic none (chat-request-to-messages.ts).
  const system = absent(body.system) ? '' : systemText(body.system, refuse);
  if (system.trim() !== '') messages.push({ role: 'system', content: system });
  if (!Array.isArray(body.messages)) refuse('messages', 'it must be an array');
  const turns: unknown[] = body.messages;
  turns.forEach((m: unknown, i: number) => {
    // Anthropic lets only a final assistant message be empty (a prefill of nothing), which only a count reaches here.
    const mayBeEmpty = o.forCounting === true && i === turns.length - 1;
    messages.push(...translateMessage(m, `messages[${i}]`, refuse, mayBeEmpty));
  });
  // Anthropic continues an assistant message that ends the conversation (a prefill); OpenAI would read it as history
  // and write a new reply. A count of tokens continues nothing, so it is counted as it is.
  const last = body.messages.length - 1;
  if (!o.forCounting && last >= 0 && (body.messages[last] as Json).role === 'assistant') {
    refuse(`messages[${last}]`, 'the conversation ends with an assistant message, which Anthropic continues as a prefill and OpenAI would answer with a new reply; end it with a user message');
  }
  const out: Json = { model: o.model, messages };
  if (!o.forCounting) {
    if (body.max_tokens === 0) refuse('max_tokens', "0 (warming Anthropic's prompt cache) has no OpenAI equivalent");
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) refuse('max_tokens', 'it must be an integer of 1 or more');
    out.max_completion_tokens = body.max_tokens;
  }
  // Anthropic's ranges (OpenAI's temperature goes to 2: a value past 1 would be taken, and mean something else).
  if (!absent(body.temperature)) out.temperature = unitNumber(body.temperature, 'temperature', refuse);
  if (!absent(body.top_p)) out.top_p = unitNumber(body.top_p, 'top_p', refuse);
  if (!absent(body.stop_sequences)) out.stop = body.stop_sequences;
  const stream = flagOf(body.stream, 'stream', refuse) === true;
  if (stream) {
    out.stream = true;
    // Anthropic's streams report their usage, and Tollgate meters it: OpenAI only reports it when asked.
    out.stream_options = { include_usage: true };
  }
  if (!absent(body.tools)) {
    if (!Array.isArray(body.tools)) refuse('tools', 'it must be an array');
    // Anthropic takes an empty list as no tools; OpenAI refuses `tools: []` (empty_array).
    else if (body.tools.length > 0) out.tools = body.tools.map((t: unknown, i: number) => translateTool(t, `tools[${i}]`, refuse));
  }
  if (!absent(body.tool_choice)) {
    const choice = translateToolChoice(body.tool_choice, refuse);
    // OpenAI refuses tool_choice and parallel_tool_calls without tools. Without tools, auto and none ask for nothing.
    if (Array.isArray(out.tools) && out.tools.length > 0) Object.assign(out, choice);
    else if (choice.tool_choice !== 'auto' && choice.tool_choice !== 'none') refuse('tool_choice.type', 'there are no tools to choose from');
    else if (choice.parallel_tool_calls === false) refuse('tool_choice.disable_parallel_tool_use', 'there are no tools to call in parallel or not');
  }
  if (!absent(body.metadata)) {
    const md = body.metadata;
    if (!isObject(md)) refuse('metadata', 'it must be an object');
    for (const k in md) if (k !== 'user_id' && !absent(md[k])) refuse(`metadata.${k}`, 'no such member of metadata');
    if (!absent(md.user_id)) out.user = md.user_id;
  }
  if (!absent(body.thinking)) {
    const t = body.thinking;
    if (!isObject(t) || t.type !== 'disabled') refuse('thinking', "OpenAI's chat completions take no thinking budget (send output_config.effort for a reasoning effort)");
    onlyMembers(t, ['type'], 'thinking', refuse, 'disabled thinking has no such member');
  }
  if (!absent(body.output_config)) translateOutputConfig(body.output_config, out, refuse);
  if (!absent(body.service_tier)) {
    if (body.service_tier === 'auto') out.service_tier = 'auto';
    else if (body.service_tier === 'standard_only') out.service_tier = 'default';
    else refuse('service_tier', `'${String(body.service_tier)}' has no OpenAI tier`);
  }
  return { body: out, stream };
}

/** A number from 0 to 1 (Anthropic's range for temperature and top_p). */
function unitNumber(v: unknown, field: string, refuse: Refuse): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) refuse(field, `${JSON.stringify(v)} is out of Anthropic's range (a number from 0 to 1)`);
  return v as number;
}

function systemText(system: unknown, refuse: Refuse): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return refuse('system', 'it must be a string or an array of text blocks');
  return system
    .map((b: unknown, i: number) => {
      if (!isObject(b) || b.type !== 'text') refuse(`system[${i}].type`, 'only text blocks are allowed in the system prompt');
      checkTextBlock(b, `system[${i}]`, refuse);
      return String(b.text);
    })
    .join('\n\n');
}

/** Members of a text block besides its text: a cache breakpoint is fine (OpenAI caches on its own), citations are not. */
function checkTextBlock(b: Json, at: string, refuse: Refuse): void {
  // Anthropic refuses an empty text block as it refuses an empty message: forwarded, it was an empty turn.
  if (typeof b.text !== 'string') refuse(`${at}.text`, 'it must be a string');
  if (b.text === '') refuse(`${at}.text`, "Anthropic's text blocks must not be empty");
  for (const k in b) {
    if (k === 'type' || k === 'text' || k === 'cache_control' || absent(b[k])) continue;
    refuse(`${at}.${k}`, "OpenAI's text parts have no such member");
  }
}

/** One Anthropic message as chat messages: a user turn's tool results become tool messages, before its other content. */
function translateMessage(m: unknown, at: string, refuse: Refuse, mayBeEmpty: boolean): Json[] {
  if (!isObject(m)) return refuse(at, 'each message must be an object');
  for (const k in m) if (k !== 'role' && k !== 'content' && !absent(m[k])) refuse(`${at}.${k}`, 'no such member of a message');
  if (m.role !== 'user' && m.role !== 'assistant') return refuse(`${at}.role`, `the role '${String(m.role)}' is not translated (user and assistant are; send a system prompt as system)`);
  // Anthropic refuses an empty message (but a last assistant's, a prefill, refused on its own): an empty user turn
  // was dropped without a word.
  const empty = m.content === '' || (Array.isArray(m.content) && m.content.length === 0);
  if (empty && !(mayBeEmpty && m.role === 'assistant')) refuse(`${at}.content`, "Anthropic's messages must have content");
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  if (!Array.isArray(m.content)) return refuse(`${at}.content`, 'it must be a string or an array of content blocks');
  return m.role === 'user' ? userMessages(m.content, `${at}.content`, refuse) : [assistantMessage(m.content, `${at}.content`, refuse)];
}

function userMessages(blocks: unknown[], at: string, refuse: Refuse): Json[] {
  const tools: Json[] = [];
  const parts: Json[] = [];
  blocks.forEach((b: unknown, j: number) => {
    const where = `${at}[${j}]`;
    if (!isObject(b)) refuse(where, 'each content block must be an object');
    switch (b.type) {
      case 'text':
        checkTextBlock(b, where, refuse);
        parts.push({ type: 'text', text: b.text });
        return;
      case 'image':
        parts.push(imagePart(b, where, refuse));
        return;
      case 'document':
        parts.push(documentPart(b, where, refuse));
        return;
      case 'tool_result':
        tools.push(toolMessage(b, where, refuse));
        return;
      default:
        refuse(`${where}.type`, `the content block '${String(b.type)}' has no OpenAI equivalent`);
    }
  });
  const out = [...tools];
  if (parts.length > 0) out.push({ role: 'user', content: parts.length === 1 && parts[0].type === 'text' ? parts[0].text : parts });
  return out;
}

function imagePart(b: Json, at: string, refuse: Refuse): Json {
  for (const k in b) if (k !== 'type' && k !== 'source' && k !== 'cache_control' && !absent(b[k])) refuse(`${at}.${k}`, "OpenAI's image parts have no such member");
  const s = b.source;
  // The source's members the translation carries; another (Anthropic's or one it never had) would be dropped.
  const carried = isObject(s) ? (s.type === 'base64' ? ['type', 'media_type', 'data'] : s.type === 'url' ? ['type', 'url'] : null) : null;
  if (isObject(s) && carried) for (const k in s) if (!carried.includes(k) && !absent(s[k])) refuse(`${at}.source.${k}`, "OpenAI's image parts have no such member");
  if (isObject(s) && s.type === 'base64') {
    if (typeof s.media_type !== 'string' || !ANTHROPIC_IMAGE_TYPES.has(s.media_type)) refuse(`${at}.source.media_type`, 'an image is JPEG, PNG, GIF or WebP, and says which');
    if (typeof s.data !== 'string') refuse(`${at}.source.data`, 'it must be the base64 data of the image');
    return { type: 'image_url', image_url: { url: `data:${s.media_type};base64,${s.data}` } };
  }
  if (isObject(s) && s.type === 'url') {
    if (typeof s.url !== 'string') refuse(`${at}.source.url`, 'it must be the URL of the image');
    return { type: 'image_url', image_url: { url: s.url } };
  }
  return refuse(`${at}.source.type`, 'OpenAI reads an image from base64 data or a URL, not an Anthropic file');
}

function documentPart(b: Json, at: string, refuse: Refuse): Json {
  for (const k in b) {
    if (k === 'type' || k === 'source' || k === 'cache_control' || k === 'title' || absent(b[k])) continue;
    refuse(`${at}.${k}`, k === 'citations' ? 'OpenAI does not cite documents' : "OpenAI's file parts have no such member");
  }
  const s = b.source;
  // The source's members the translation carries (a plain text source is text/plain, Anthropic's only kind).
  if (isObject(s) && (s.type === 'base64' || s.type === 'text')) {
    onlyMembers(s, ['type', 'media_type', 'data'], `${at}.source`, refuse, "OpenAI's file parts have no such member");
    if (s.type === 'text' && !absent(s.media_type) && s.media_type !== 'text/plain') refuse(`${at}.source.media_type`, 'a plain text document is text/plain');
  }
  if (isObject(s) && s.type === 'base64' && s.media_type === 'application/pdf') {
    return { type: 'file', file: { filename: typeof b.title === 'string' ? b.title : 'document.pdf', file_data: `data:application/pdf;base64,${String(s.data)}` } };
  }
  if (isObject(s) && s.type === 'text' && absent(b.title)) return { type: 'text', text: s.data };
  return refuse(`${at}.source`, 'OpenAI reads a document as a base64 PDF or as plain text (without a title)');
}

function toolMessage(b: Json, at: string, refuse: Refuse): Json {
  for (const k in b) {
    if (k === 'type' || k === 'tool_use_id' || k === 'content' || k === 'is_error' || k === 'cache_control' || absent(b[k])) continue;
    refuse(`${at}.${k}`, "OpenAI's tool messages have no such member");
  }
  let text: string;
  if (typeof b.content === 'string' || absent(b.content)) text = (b.content as string | undefined) ?? '';
  else if (Array.isArray(b.content)) {
    text = b.content
      .map((c: unknown, k: number) => {
        if (!isObject(c) || c.type !== 'text') refuse(`${at}.content[${k}].type`, "OpenAI's tool messages hold text only");
        checkTextBlock(c, `${at}.content[${k}]`, refuse);
        return String(c.text);
      })
      .join('\n');
  } else return refuse(`${at}.content`, 'it must be a string or an array of text blocks');
  // OpenAI's tool messages have no error flag: the model is told in the text (docs/providers.md).
  if (flagOf(b.is_error, `${at}.is_error`, refuse) === true) text = `[tool error] ${text}`;
  return { role: 'tool', tool_call_id: b.tool_use_id, content: text };
}

function assistantMessage(blocks: unknown[], at: string, refuse: Refuse): Json {
  let text: string | null = null;
  const calls: Json[] = [];
  blocks.forEach((b: unknown, j: number) => {
    const where = `${at}[${j}]`;
    if (!isObject(b)) refuse(where, 'each content block must be an object');
    if (b.type === 'text') {
      // OpenAI's assistant message holds its text before its tool calls: text after a call would be moved before it.
      if (calls.length > 0) refuse(where, "OpenAI's assistant message holds its text before its tool calls, and this text comes after one");
      checkTextBlock(b, where, refuse);
      text = (text ?? '') + String(b.text);
    } else if (b.type === 'tool_use') {
      for (const k in b) if (!['type', 'id', 'name', 'input', 'cache_control'].includes(k) && !absent(b[k])) refuse(`${where}.${k}`, "OpenAI's tool calls have no such member");
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    } else refuse(`${where}.type`, `the content block '${String(b.type)}' has no OpenAI equivalent`);
  });
  const message: Json = { role: 'assistant', content: text };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function translateTool(t: unknown, at: string, refuse: Refuse): Json {
  if (!isObject(t)) return refuse(at, 'each tool must be an object');
  if (!absent(t.type) && t.type !== 'custom') return refuse(`${at}.type`, `'${String(t.type)}' is an Anthropic tool that OpenAI does not run`);
  const fn: Json = { name: t.name };
  for (const k in t) {
    if (absent(t[k]) || k === 'type' || k === 'name' || k === 'cache_control') continue;
    if (k === 'description') fn.description = t.description;
    else if (k === 'input_schema') fn.parameters = t.input_schema;
    else if (k === 'strict') fn.strict = t.strict;
    else refuse(`${at}.${k}`, "OpenAI's function tools have no such member");
  }
  return { type: 'function', function: fn };
}

function translateToolChoice(choice: unknown, refuse: Refuse): Json {
  if (!isObject(choice)) return refuse('tool_choice', 'it must be an object');
  for (const k in choice) {
    if (['type', 'name', 'disable_parallel_tool_use'].includes(k) || absent(choice[k])) continue;
    refuse(`tool_choice.${k}`, 'no such member of tool_choice');
  }
  // Only a choice of one tool names it (Anthropic refuses a name on the others).
  if (choice.type === 'tool' ? typeof choice.name !== 'string' : !absent(choice.name)) refuse('tool_choice.name', choice.type === 'tool' ? 'it must name a tool' : `a tool_choice of type '${String(choice.type)}' names no tool`);
  const out: Json = {};
  if (choice.type === 'auto') out.tool_choice = 'auto';
  else if (choice.type === 'any') out.tool_choice = 'required';
  else if (choice.type === 'none') out.tool_choice = 'none';
  else if (choice.type === 'tool') out.tool_choice = { type: 'function', function: { name: choice.name } };
  else refuse('tool_choice.type', `'${String(choice.type)}' has no OpenAI equivalent`);
  // Anthropic's none has no such flag: it calls no tools, in parallel or not.
  if (choice.type === 'none' && !absent(choice.disable_parallel_tool_use)) refuse('tool_choice.disable_parallel_tool_use', "a tool_choice of type 'none' has no such member");
  if (flagOf(choice.disable_parallel_tool_use, 'tool_choice.disable_parallel_tool_use', refuse) === true) out.parallel_tool_calls = false;
  return out;
}

function translateOutputConfig(config: unknown, out: Json, refuse: Refuse): void {
  if (!isObject(config)) refuse('output_config', 'it must be an object');
  for (const k in config) {
    if (absent(config[k])) continue;
    if (k === 'effort') {
      if (typeof config.effort !== 'string' || !EFFORTS.has(config.effort)) refuse('output_config.effort', `'${String(config.effort)}' has no OpenAI reasoning effort (low, medium, high, xhigh)`);
      out.reasoning_effort = config.effort;
    } else if (k === 'format') {
      const f = config.format;
      if (!isObject(f) || f.type !== 'json_schema' || !isObject(f.schema)) refuse('output_config.format', 'OpenAI structures its output by a JSON schema only');
      onlyMembers(f, ['type', 'schema'], 'output_config.format', refuse, "Anthropic's output format has no such member");
      out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: f.schema, strict: true } };
    } else refuse(`output_config.${k}`, 'no OpenAI equivalent');
  }
}
