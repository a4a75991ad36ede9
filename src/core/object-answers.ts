import { containerOf } from './anthropic-containers.js';
import type { ObjectPlan } from './object-plan.js';
import { type AnswerObject, createdObject, itemsOf, producedObjects } from './object-refs.js';

/** What an answer gives the caller: objects its request created, and objects the upstream made on its behalf. */
export interface AnswerObjects {
  created: AnswerObject[];
  produced: AnswerObject[];
}

/** Collections whose answers list items (conversation items, a response's input and output) that can be referenced. */
const HOLDS_ITEMS = new Set(['response', 'conversation']);

/** The objects of a JSON answer (one object, or a list already filtered to the caller's). */
export function answerObjects(plan: ObjectPlan, answer: unknown): AnswerObjects {
  const out: AnswerObjects = { created: [], produced: [] };
  const c = plan.creates;
  if (c && c.from !== 'location') {
    const made = createdObject(answer, c.type, c.from);
    if (made) out.created.push(made);
    // A stored response's output items can be referenced (`item_reference`) by later requests.
    if (c.type === 'response') out.created.push(...itemsOf(answer, 'output'));
  }
  if (plan.adopts) {
    out.produced.push(...producedObjects(answer));
    if (plan.collection && HOLDS_ITEMS.has(plan.collection) && !c) out.produced.push(...itemsOf(answer, 'data'), ...itemsOf(answer, 'output'));
  }
  if (plan.adoptsContainer) adoptContainer(plan, containerOf(answer), out);
  return out;
}

/**
 * Adds the container a Messages answer names, unless the request named it: that one was checked to be the caller's
 * already, and every later turn in it would otherwise cost a write.
 */
function adoptContainer(plan: ObjectPlan, container: AnswerObject | null, out: AnswerObjects): void {
  if (container && !plan.named.some((r) => r.type === 'container' && r.id === container.id)) out.produced.push(container);
}

/** Event types of Server-Sent Event streams that carry objects: a stream is read only at these. */
export const OBJECT_EVENTS = [
  'response.created',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'thread.created',
  'thread.run.created',
  'thread.message.completed',
  'thread.run.step.completed',
  // Anthropic's Messages stream: the container, in message_start's message and (or) message_delta's delta.
  'message_start',
  'message_delta',
];

const RESPONSE_ENDS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * The objects of one streamed event: a Responses event (`{type, response}`), an Assistants event (named by its
 * `event:` line), a chat completion chunk (its `id`, when the completion is stored), or a Messages event (its container).
 */
export function eventObjects(plan: ObjectPlan, event: string | null, data: unknown): AnswerObjects {
  const out: AnswerObjects = { created: [], produced: [] };
  if (data === null || typeof data !== 'object') return out;
  const obj = data as Record<string, unknown>;
  const c = plan.creates;
  const type = typeof obj.type === 'string' ? obj.type : (event ?? '');
  if (plan.adoptsContainer && (type === 'message_start' || type === 'message_delta')) {
    adoptContainer(plan, containerOf(type === 'message_start' ? obj.message : obj.delta), out);
    return out;
  }
  if (type.startsWith('response.') && obj.response && typeof obj.response === 'object') {
    const response = obj.response;
    if (type === 'response.created' && c?.type === 'response') {
      const made = createdObject(response, 'response', 'id');
      if (made) out.created.push(made);
    } else if (RESPONSE_ENDS.has(type)) {
      (c?.type === 'response' ? out.created : out.produced).push(...itemsOf(response, 'output'));
      if (plan.adopts) out.produced.push(...producedObjects(response));
    }
    return out;
  }
  if (c?.type === 'chat_completion' && obj.object === 'chat.completion.chunk') {
    const made = createdObject(obj, 'chat_completion', 'id');
    if (made) out.created.push(made);
    return out;
  }
  if (c?.type === 'thread' && event === 'thread.created') {
    const made = createdObject(obj, 'thread', 'id');
    if (made) out.created.push(made);
    // The thread's vector stores made from `tool_resources.file_search.vector_stores`: this event is where a streamed
    // run first names them.
    if (plan.adopts) out.produced.push(...producedObjects(obj));
  } else if (c?.type === 'thread' && event === 'thread.run.created') {
    const made = createdObject(obj, 'thread', 'thread_id');
    if (made) out.created.push(made);
  } else if (plan.adopts && (event === 'thread.message.completed' || event === 'thread.run.step.completed')) {
    out.produced.push(...producedObjects(obj));
  }
  return out;
}
