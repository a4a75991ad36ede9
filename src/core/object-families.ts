// The stateful resource families of the OpenAI API (openapi.yaml, 2026-08 snapshot) whose objects live in the upstream
// account that every Tollgate project shares. Each object a project creates through the gateway is recorded as that
// project's; docs/object-isolation.md lists the families and what is checked for each.

export const OBJECT_TYPES = [
  'file',
  'upload',
  'batch',
  'response',
  /** An item of a stored response or conversation (msg_…, rs_…, fc_…), referenced with `item_reference`. */
  'item',
  'chat_completion',
  'vector_store',
  'assistant',
  'thread',
  'fine_tuning_job',
  /** A fine-tuned model or checkpoint (`ft:…`). */
  'model',
  'container',
  'conversation',
  'eval',
  'video',
  'video_character',
  'skill',
  'chatkit_session',
  'chatkit_thread',
  'voice_consent',
  'voice',
  'realtime_call',
  /** Anthropic's Message Batches (`msgbatch_…`): their results are every request's answer. */
  'message_batch',
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** Where the id of an object an answer creates is found. */
export type IdSource = 'id' | 'file.id' | 'thread_id' | 'location';

export interface Creation {
  type: ObjectType;
  from: IdSource;
}

/** A collection of the API under `/v1`, e.g. `vector_stores`: its objects are addressed as `/vector_stores/{id}/…`. */
export interface Collection {
  type: ObjectType;
  /** POST to the collection creates an object (its `id` in the answer unless said otherwise). */
  create?: Creation;
  /** Whether a create stores the object: only with `store: true` (chat completions), or unless `store: false` (responses). */
  stores?: 'when_true' | 'unless_false';
  /**
   * GET on the collection lists objects of every project: the answer is filtered. `order` is the API's default;
   * `cursors` the names of its paging parameters when they are not OpenAI's `after`/`before` (Anthropic's
   * `after_id`/`before_id`).
   */
  list?: { order: 'asc' | 'desc'; cursors?: ListCursors };
  /** DELETE `/{collection}/{id}` deletes the object: its ownership row is marked deleted. */
  deletable?: boolean;
  /** `/{collection}/{id}/{segment}/{other}`: the other id is an object of this type too (checked as well). */
  nested?: Record<string, ObjectType>;
  /** POST `/{collection}/{id}/{action}` creates an object. */
  actions?: Record<string, Creation>;
  /** Answers may carry ids the upstream made for the caller (batch output files, …): adopted when nobody owns them. */
  adopts?: boolean;
}

/** The names of a list's paging parameters: forward from `after`, backward from `before`. */
export interface ListCursors {
  after: string;
  before: string;
}

/** OpenAI's list cursors. */
export const OPENAI_CURSORS: ListCursors = { after: 'after', before: 'before' };

const own = (type: ObjectType, from: IdSource = 'id'): Creation => ({ type, from });

/**
 * Collections by path (one or two segments after `/v1`); two-segment ones are matched first, so `threads/runs` and
 * `videos/edits` are actions on the collection, not object ids. A collection's objects are checked at
 * `/{collection}/{id}`; whatever follows the id (messages, runs, file batches, …) belongs to that object, and the
 * upstream answers 404 for a child of another parent.
 */
export const COLLECTIONS: Readonly<Record<string, Collection>> = {
  files: { type: 'file', create: own('file'), list: { order: 'desc' }, deletable: true },
  uploads: { type: 'upload', create: own('upload'), actions: { complete: own('file', 'file.id') } },
  batches: { type: 'batch', create: own('batch'), list: { order: 'desc' }, adopts: true },
  responses: { type: 'response', create: own('response'), stores: 'unless_false', deletable: true, adopts: true },
  'responses/input_tokens': { type: 'response' },
  'responses/compact': { type: 'response' },
  'chat/completions': { type: 'chat_completion', create: own('chat_completion'), stores: 'when_true', list: { order: 'asc' }, deletable: true },
  vector_stores: { type: 'vector_store', create: own('vector_store'), list: { order: 'desc' }, deletable: true, nested: { files: 'file' } },
  // An assistant's answers name the vector stores made for it from `tool_resources.file_search.vector_stores`.
  assistants: { type: 'assistant', create: own('assistant'), list: { order: 'desc' }, deletable: true, adopts: true },
  threads: { type: 'thread', create: own('thread'), deletable: true, adopts: true },
  'threads/runs': { type: 'thread', create: own('thread', 'thread_id'), adopts: true },
  'fine_tuning/jobs': { type: 'fine_tuning_job', create: own('fine_tuning_job'), list: { order: 'desc' }, adopts: true },
  containers: { type: 'container', create: own('container'), list: { order: 'desc' }, deletable: true },
  conversations: { type: 'conversation', create: own('conversation'), deletable: true, adopts: true },
  evals: { type: 'eval', create: own('eval'), list: { order: 'asc' }, deletable: true },
  videos: { type: 'video', create: own('video'), list: { order: 'desc' }, deletable: true, actions: { remix: own('video') } },
  'videos/edits': { type: 'video', create: own('video') },
  'videos/extensions': { type: 'video', create: own('video') },
  'videos/characters': { type: 'video_character', create: own('video_character') },
  skills: { type: 'skill', create: own('skill'), list: { order: 'desc' }, deletable: true },
  'chatkit/sessions': { type: 'chatkit_session', create: own('chatkit_session') },
  // ChatKit threads are made by ChatKit clients, outside Tollgate: visible only once assigned.
  'chatkit/threads': { type: 'chatkit_thread', list: { order: 'desc' }, deletable: true },
  'audio/voice_consents': { type: 'voice_consent', create: own('voice_consent'), list: { order: 'desc' }, deletable: true },
  'audio/voices': { type: 'voice', create: own('voice') },
  // Anthropic's Message Batches API, forwarded to an Anthropic provider: every project's batches (and their results,
  // every request's answer) live in the one provider account.
  'messages/batches': { type: 'message_batch', create: own('message_batch'), list: { order: 'desc', cursors: { after: 'after_id', before: 'before_id' } }, deletable: true },
  // The call id comes back in the Location header of the SDP answer.
  'realtime/calls': { type: 'realtime_call', create: own('realtime_call', 'location') },
  // GET /models is Tollgate's own; DELETE /models/{model} deletes a fine-tuned model.
  models: { type: 'model', deletable: true },
};

/** The collection a path lies in (its segments decoded), and the segments after it; null for other paths. */
export function collectionOf(segments: readonly string[]): { key: string; collection: Collection; rest: readonly string[] } | null {
  if (segments.length >= 2) {
    const key = `${segments[0]}/${segments[1]}`;
    const c = Object.hasOwn(COLLECTIONS, key) ? COLLECTIONS[key] : undefined;
    if (c) return { key, collection: c, rest: segments.slice(2) };
  }
  // Own members only: a path segment such as `toString` names no collection.
  const c = segments.length >= 1 && Object.hasOwn(COLLECTIONS, segments[0]) ? COLLECTIONS[segments[0]] : undefined;
  return c ? { key: segments[0], collection: c, rest: segments.slice(1) } : null;
}

/** The words OpenAI uses for a missing object of each type. */
const NOUNS: Record<ObjectType, string> = {
  file: 'file',
  upload: 'upload',
  batch: 'batch',
  response: 'response',
  item: 'item',
  chat_completion: 'chat completion',
  vector_store: 'vector store',
  assistant: 'assistant',
  thread: 'thread',
  fine_tuning_job: 'fine-tuning job',
  model: 'model',
  container: 'container',
  conversation: 'conversation',
  eval: 'eval',
  video: 'video',
  video_character: 'character',
  skill: 'skill',
  chatkit_session: 'ChatKit session',
  chatkit_thread: 'ChatKit thread',
  voice_consent: 'voice consent',
  voice: 'voice',
  realtime_call: 'call',
  message_batch: 'message batch',
};

/** The message of the 404 for an object the caller may not see, worded as OpenAI words a missing one. */
export function notFoundMessage(type: ObjectType, id: string): string {
  if (type === 'file') return `No such File object: ${id}`;
  if (type === 'response') return `Response with id '${id}' not found.`;
  if (type === 'model') return `The model '${id}' does not exist or you do not have access to it.`;
  return `No ${NOUNS[type]} found with id '${id}'.`;
}

/** Id prefixes of the OpenAI API, for operators who assign an object without naming its type. */
const PREFIXES: Array<[string, ObjectType]> = [
  ['file-', 'file'],
  ['upload_', 'upload'],
  ['batch_', 'batch'],
  ['resp_', 'response'],
  ['chatcmpl-', 'chat_completion'],
  ['vs_', 'vector_store'],
  ['asst_', 'assistant'],
  ['thread_', 'thread'],
  ['ftjob-', 'fine_tuning_job'],
  ['ft:', 'model'],
  ['cntr_', 'container'],
  ['conv_', 'conversation'],
  ['eval_', 'eval'],
  ['video_', 'video'],
  ['skill_', 'skill'],
  ['cksess_', 'chatkit_session'],
  ['cthr_', 'chatkit_thread'],
  ['rtc_', 'realtime_call'],
  ['voice_', 'voice'],
  // Anthropic's.
  ['msgbatch_', 'message_batch'],
  ['file_', 'file'],
];

/** The type an id's prefix tells, or null when it tells none. */
export function typeOfId(id: string): ObjectType | null {
  for (const [prefix, type] of PREFIXES) if (id.startsWith(prefix)) return type;
  return null;
}

/** Whether a string names an object type. */
export function isObjectType(s: string): s is ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(s);
}
