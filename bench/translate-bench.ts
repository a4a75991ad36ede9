import { pathToFileURL } from 'node:url';
import { eventData, splitEvents } from '../src/core/sse.js';
import { chatCompletionToMessage } from '../src/core/translate/chat-completion-to-message.js';
import { chatRequestToMessages } from '../src/core/translate/chat-request-to-messages.js';
import { ChatStreamToMessage } from '../src/core/translate/chat-stream-to-message.js';
import { MessageStreamToChat } from '../src/core/translate/message-stream-to-chat.js';
import { messageToChatCompletion } from '../src/core/translate/message-to-chat-completion.js';
import { messagesRequestToChat } from '../src/core/translate/messages-request-to-chat.js';
import { CHAT_STREAM_WITH_USAGE, COMPLETION, MESSAGE, MESSAGE_STREAM } from './fake-upstream.js';
import { CLAUDE_MODEL, OPENAI_MODEL } from './flows.js';

// Micro-benchmarks of the pure translation functions (src/core/translate), in-process: requests (a one-message one
// and a 24-message conversation), buffered answers, and streams per event (the fake upstream's own answers and
// streams, those the flows bench relays). Each is timed alone on parsed JSON, and with the JSON work a translated
// request adds around it (parse the upstream's answer or the client's body, serialise the translation).
// Alone: `node --import tsx bench/translate-bench.ts` prints the table.

export interface TranslationTiming {
  /** What is translated, in which direction. */
  name: string;
  /** µs per call of the function alone (per event for streams). */
  us: number;
  /** µs with JSON.parse of the input and JSON.stringify of the output (requests and answers), per event for streams. */
  usWithJson: number;
}

type Json = Record<string, unknown>;

const SENTENCES = [
  'Can you look at the failing test in the billing module and tell me why the totals are off by one cent?',
  'The rounding happens twice: once when each line item is priced and again when the invoice is summed, so half-cent values drift.',
  'Round only once, at the end, using banker’s rounding to match what the ledger expects, and keep the line items in exact decimals.',
  'That fixed it locally. Now the snapshot tests for the PDF renderer fail because the totals moved; should I update them?',
];

/** A coding-assistant conversation: a system prompt and 24 alternating user and assistant messages of 100–130 characters. */
function conversation(): { system: string; turns: Array<{ role: 'user' | 'assistant'; content: string }> } {
  const turns = Array.from({ length: 24 }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content: `${SENTENCES[i % SENTENCES.length]} (turn ${i + 1})` }));
  return { system: 'You are a careful senior engineer. Answer briefly, and show code only when asked.', turns };
}

const CONVERSATION = conversation();
const CHAT_SIMPLE: Json = { model: CLAUDE_MODEL, messages: [{ role: 'user', content: 'hi' }] };
const CHAT_24: Json = { model: CLAUDE_MODEL, messages: [{ role: 'system', content: CONVERSATION.system }, ...CONVERSATION.turns], max_tokens: 1024, temperature: 0.2 };
const MESSAGES_SIMPLE: Json = { model: OPENAI_MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] };
const MESSAGES_24: Json = { model: OPENAI_MODEL, max_tokens: 1024, system: CONVERSATION.system, messages: CONVERSATION.turns, temperature: 0.2 };

/** Every result escapes here, so that the optimiser cannot drop the work that built it. */
export const sink: { value: unknown } = { value: null };
const keep = (v: unknown) => {
  sink.value = v;
};

/** CPU µs this process has used (user + system): time the OS gave to other processes is not counted. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * µs of CPU per call of `fn`: batches of at least ~20 ms after a warm-up, the fastest of 9. On a shared machine other
 * work only ever adds time (descheduling, cold caches), so the fastest batch is the closest to the function's own cost.
 */
export function timeCall(fn: () => unknown, batchMs = 20): number {
  for (let i = 0; i < 2000; i++) keep(fn());
  let n = 1;
  for (;;) {
    const t0 = cpuNow();
    for (let i = 0; i < n; i++) keep(fn());
    if (cpuNow() - t0 >= batchMs * 1000) break;
    n *= 2;
  }
  let best = Number.POSITIVE_INFINITY;
  for (let b = 0; b < 9; b++) {
    const t0 = cpuNow();
    for (let i = 0; i < n; i++) keep(fn());
    best = Math.min(best, (cpuNow() - t0) / n);
  }
  return best;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

function request(name: string, body: Json, translate: (b: Json) => Json): TranslationTiming {
  const raw = JSON.stringify(body);
  return {
    name,
    us: round3(timeCall(() => translate(body))),
    usWithJson: round3(timeCall(() => JSON.stringify(translate(JSON.parse(raw) as Json)))),
  };
}

/** The `data:` texts of a stream's events. */
const dataOf = (sse: string) => splitEvents(sse).map(eventData);

function stream(name: string, sse: string, make: () => { push(data: string | null): string }): TranslationTiming {
  const events = dataOf(sse);
  // The JSON-less timing still parses each event: the translators take its text and parse it themselves.
  const whole = () => {
    const t = make();
    let out = '';
    for (const e of events) out += t.push(e);
    return out;
  };
  const us = timeCall(whole) / events.length;
  return { name: `${name} (per event, ${events.length} events)`, us: round3(us), usWithJson: round3(us) };
}

/** Times every translation; the answers are checked first, so a broken translation cannot be timed as a fast one. */
export function benchTranslation(): TranslationTiming[] {
  const toMessages = (b: Json) => chatRequestToMessages(b, { model: CLAUDE_MODEL, defaultMaxTokens: 4096 }).body;
  const toChat = (b: Json) => messagesRequestToChat(b, { model: OPENAI_MODEL }).body as unknown as Json;
  const message = JSON.parse(MESSAGE) as Json;
  const completion = JSON.parse(COMPLETION) as Json;
  const fromMessage = (m: Json) => messageToChatCompletion(m, { created: 1_700_000_000 });
  const fromCompletion = (c: Json) => chatCompletionToMessage(c, { model: OPENAI_MODEL });
  const messageStream = () => new MessageStreamToChat({ created: 1_700_000_000, includeUsage: true });
  const chatStream = () => new ChatStreamToMessage({ model: OPENAI_MODEL });

  const translated24 = toMessages(CHAT_24) as { messages: unknown[]; system: unknown };
  if (translated24.messages.length !== 24 || !translated24.system) throw new Error('the 24-message conversation did not translate to 24 messages and a system prompt');
  if ((toChat(MESSAGES_24) as { messages: unknown[] }).messages.length !== 25) throw new Error('the 24-message Messages request did not translate to a system and 24 messages');
  if (!JSON.stringify(fromMessage(message)).includes('chat.completion')) throw new Error('the message did not translate to a chat completion');
  if ((fromCompletion(completion) as { type?: string }).type !== 'message') throw new Error('the chat completion did not translate to a message');
  const stream1 = messageStream();
  if (!dataOf(MESSAGE_STREAM).map((d) => stream1.push(d)).join('').endsWith('data: [DONE]\n\n')) throw new Error('the message stream did not translate to chunks ending in [DONE]');
  const stream2 = chatStream();
  if (!dataOf(CHAT_STREAM_WITH_USAGE).map((d) => stream2.push(d)).join('').includes('event: message_stop')) throw new Error('the chunk stream did not translate to events ending in message_stop');

  const timings = [
    request('chat request → Messages request, 1 message', CHAT_SIMPLE, toMessages),
    request('chat request → Messages request, 24 messages', CHAT_24, toMessages),
    request('Messages request → chat request, 1 message', MESSAGES_SIMPLE, toChat),
    request('Messages request → chat request, 24 messages', MESSAGES_24, toChat),
    request('message → chat completion', message, fromMessage),
    request('chat completion → message', completion, fromCompletion),
    stream('Messages stream → chat chunks', MESSAGE_STREAM, messageStream),
    stream('chat chunks → Messages stream', CHAT_STREAM_WITH_USAGE, chatStream),
  ];
  sink.value = null;
  return timings;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const t of benchTranslation()) process.stdout.write(`${t.name}: ${t.us.toFixed(2)} µs, ${t.usWithJson.toFixed(2)} µs with JSON\n`);
}
