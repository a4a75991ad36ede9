import type { Mode } from './chat-load.js';
import { ANTHROPIC_TEXT, OPENAI_TEXT, UPSTREAM_USAGE } from './fake-upstream.js';
import type { WrkRequestShape } from './wrk.js';

// The flows of the flows bench (issue 20 §4): which API the client speaks, which one the upstream does, and how an
// answer of each must look. `openai` and `anthropic-native` pass through (compared with the bare proxy forwarding the
// same request); the two others are translated by Tollgate. The fake upstream answers each API with its own text, so
// checkAnswer catches a flow that reached the wrong upstream as surely as an error answer.

export type Api = 'openai' | 'anthropic';
export type FlowName = 'openai' | 'anthropic-native' | 'openai-to-anthropic' | 'anthropic-to-openai';

export interface Flow {
  name: FlowName;
  /** The API the client speaks (its path, its key header, the answer's shape). */
  client: Api;
  /** The API of the upstream the flow's model is routed to. */
  upstream: Api;
  path: string;
  model: string;
  /** Request bodies by mode. */
  bodies: Record<Mode, string>;
  shape: WrkRequestShape;
}

export const FLOW_NAMES: readonly FlowName[] = ['openai', 'anthropic-native', 'openai-to-anthropic', 'anthropic-to-openai'];

/** The OpenAI model (routed to the OpenAI-compatible provider) and the Claude model (routed to the anthropic one). */
export const OPENAI_MODEL = 'gpt-4o-mini';
export const CLAUDE_MODEL = 'claude-sonnet-4-5';

const PATHS: Record<Api, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const SHAPES: Record<Api, WrkRequestShape> = {
  openai: { keyHeader: 'Authorization' },
  anthropic: { keyHeader: 'x-api-key', headers: { 'anthropic-version': '2023-06-01' } },
};

function bodies(client: Api, model: string): Record<Mode, string> {
  // Anthropic requires max_tokens; OpenAI's minimal request has none (Tollgate fills it in when it translates).
  const base = client === 'anthropic' ? { model, max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] } : { model, messages: [{ role: 'user', content: 'hi' }] };
  return { 'non-stream': JSON.stringify(base), stream: JSON.stringify({ ...base, stream: true }) };
}

function flow(name: FlowName, client: Api, upstream: Api): Flow {
  const model = upstream === 'anthropic' ? CLAUDE_MODEL : OPENAI_MODEL;
  return { name, client, upstream, path: PATHS[client], model, bodies: bodies(client, model), shape: SHAPES[client] };
}

export const FLOWS: Readonly<Record<FlowName, Flow>> = {
  openai: flow('openai', 'openai', 'openai'),
  'anthropic-native': flow('anthropic-native', 'anthropic', 'anthropic'),
  'openai-to-anthropic': flow('openai-to-anthropic', 'openai', 'anthropic'),
  'anthropic-to-openai': flow('anthropic-to-openai', 'anthropic', 'openai'),
};

/** Whether the flow passes through (client and upstream speak the same API): the bare proxy can serve it too. */
export const isNative = (f: Flow): boolean => f.client === f.upstream;

/** The native flow a translated one is compared with: the one with the same upstream, or the one with the same client API. */
export function nativeFlowOf(f: Flow, same: 'upstream' | 'client'): Flow {
  const api = same === 'upstream' ? f.upstream : f.client;
  return api === 'openai' ? FLOWS.openai : FLOWS['anthropic-native'];
}

/** BENCH_FLOWS: a comma-separated list of flow names (all of them when unset or empty). */
export function parseFlows(raw: string | undefined): Flow[] {
  const names = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) return FLOW_NAMES.map((n) => FLOWS[n]);
  const unknown = names.filter((n) => !(FLOW_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`BENCH_FLOWS names unknown flows (${unknown.join(', ')}); known: ${FLOW_NAMES.join(', ')}`);
  return FLOW_NAMES.filter((n) => names.includes(n)).map((n) => FLOWS[n]);
}

/** The gateway config of the flows bench: the fake upstream as both an OpenAI-compatible and an anthropic provider. */
export function flowsGatewayConfig(upstreamOrigin: string, keyEnv: string): Record<string, unknown> {
  return {
    providers: [
      { name: 'openai', base_url: `${upstreamOrigin}/v1`, api_key_env: keyEnv },
      { name: 'anthropic', kind: 'anthropic', base_url: `${upstreamOrigin}/v1`, api_key_env: keyEnv },
    ],
    routes: { 'claude-*': 'anthropic', 'gpt-*': 'openai' },
  };
}

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

const UPSTREAM_TEXT: Record<Api, string> = { openai: OPENAI_TEXT, anthropic: ANTHROPIC_TEXT };

/**
 * What is wrong with an answer to the flow's request in `mode` (empty when nothing is): status 200, the client API's
 * shape (buffered or streamed), the text of the flow's upstream, a normal end, and the upstream's usage where the
 * client asked for it (always for a buffered answer; Anthropic's streams carry it in their events).
 */
export function checkAnswer(f: Flow, mode: Mode, a: Answer): string[] {
  const problems: string[] = [];
  if (a.status !== 200) return [`status ${a.status}: ${a.body.slice(0, 200)}`];
  const wantType = mode === 'stream' ? 'text/event-stream' : 'application/json';
  if (!a.contentType.startsWith(wantType)) problems.push(`content-type ${a.contentType || '(none)'}, not ${wantType}`);
  let seen: { text: string; ended: boolean; input: number | null; output: number | null } | null;
  try {
    seen = f.client === 'openai' ? (mode === 'stream' ? readChatStream(a.body) : readChatCompletion(a.body)) : mode === 'stream' ? readMessageStream(a.body) : readMessage(a.body);
  } catch (err) {
    return [...problems, `not a ${f.client} ${mode} answer: ${(err as Error).message}`];
  }
  const want = UPSTREAM_TEXT[f.upstream];
  if (seen.text !== want) problems.push(`text ${JSON.stringify(seen.text)}, not the ${f.upstream} upstream's ${JSON.stringify(want)}`);
  if (!seen.ended) problems.push('the answer did not end normally');
  if (seen.input !== null && seen.input !== UPSTREAM_USAGE.input) problems.push(`input tokens ${seen.input}, not ${UPSTREAM_USAGE.input}`);
  if (seen.output !== null && seen.output !== UPSTREAM_USAGE.output) problems.push(`output tokens ${seen.output}, not ${UPSTREAM_USAGE.output}`);
  if (mode === 'non-stream' && (seen.input === null || seen.output === null)) problems.push('no usage');
  return problems;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is not an object`);
  return v as Obj;
};
const count = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function readChatCompletion(body: string) {
  const c = obj(JSON.parse(body), 'the body');
  if (c.object !== 'chat.completion') throw new Error(`object is ${String(c.object)}`);
  const choice = obj((c.choices as unknown[] | undefined)?.[0], 'choices[0]');
  const message = obj(choice.message, 'choices[0].message');
  const usage = c.usage === undefined ? {} : obj(c.usage, 'usage');
  return { text: String(message.content), ended: choice.finish_reason === 'stop', input: count(usage.prompt_tokens), output: count(usage.completion_tokens) };
}

function readChatStream(body: string) {
  const events = body.split('\n\n').filter((e) => e.trim() !== '');
  const last = events.pop()?.trim();
  if (last !== 'data: [DONE]') throw new Error(`the stream ends with ${JSON.stringify(last?.slice(0, 80))}, not data: [DONE]`);
  let text = '';
  let finish: unknown = null;
  for (const e of events) {
    if (!e.startsWith('data: ')) throw new Error(`an event is not a data line: ${JSON.stringify(e.slice(0, 80))}`);
    const chunk = obj(JSON.parse(e.slice(6)), 'a chunk');
    if (chunk.object !== 'chat.completion.chunk') throw new Error(`a chunk's object is ${String(chunk.object)}`);
    const choice = (chunk.choices as unknown[])[0];
    if (choice === undefined) continue;
    const c = obj(choice, 'a chunk choice');
    const delta = obj(c.delta, 'a delta');
    if (typeof delta.content === 'string') text += delta.content;
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, ended: finish === 'stop', input: null, output: null };
}

function readMessage(body: string) {
  const m = obj(JSON.parse(body), 'the body');
  if (m.type !== 'message' || m.role !== 'assistant') throw new Error(`type ${String(m.type)}, role ${String(m.role)}`);
  const text = (m.content as unknown[]).map((b) => String(obj(b, 'a content block').text ?? '')).join('');
  const usage = obj(m.usage, 'usage');
  return { text, ended: m.stop_reason === 'end_turn', input: count(usage.input_tokens), output: count(usage.output_tokens) };
}

function readMessageStream(body: string) {
  const events = body
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((e) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(e.trim());
      if (!m) throw new Error(`an event is not event + data: ${JSON.stringify(e.slice(0, 80))}`);
      const data = obj(JSON.parse(m[2]), 'an event');
      if (data.type !== m[1]) throw new Error(`event ${m[1]} carries type ${String(data.type)}`);
      return data;
    });
  if (events[0]?.type !== 'message_start') throw new Error(`the stream starts with ${String(events[0]?.type)}`);
  let text = '';
  let input = count(obj(obj(events[0].message, 'message_start.message').usage, 'message_start usage').input_tokens);
  let output: number | null = null;
  let stop: unknown = null;
  for (const e of events) {
    if (e.type === 'content_block_delta') {
      const d = obj(e.delta, 'a delta');
      if (d.type === 'text_delta') text += String(d.text);
    }
    if (e.type === 'message_delta') {
      stop = obj(e.delta, 'message_delta.delta').stop_reason;
      const u = obj(e.usage, 'message_delta usage');
      output = count(u.output_tokens);
      // A translated stream learns the input only at the end (message_start says 0, message_delta the count).
      if (typeof u.input_tokens === 'number' && u.input_tokens > 0) input = u.input_tokens;
    }
  }
  return { text, ended: stop === 'end_turn' && events.at(-1)?.type === 'message_stop', input, output };
}
