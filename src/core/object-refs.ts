import type { ObjectType } from './object-families.js';

// Where object ids appear in request bodies and in answers. The request side is every body field of
// openapi.yaml that names an object (file_id, input_file_id, training_file, previous_response_id, vector_store_ids,
// assistant_id, conversation, container, video, voice, …), matched by key at any depth, so the same field in a new
// place (a tool, an input item, a prompt variable) is checked too.

/** An object a request names, and the parameter it was named in (for the 404's `param`). */
export interface ObjectRef {
  type: ObjectType;
  id: string;
  param: string | null;
}

/** An object an answer carries: created by the request, or made by the upstream for the caller (adopted). */
export interface AnswerObject {
  type: ObjectType;
  id: string;
  /** The upstream's created_at (unix seconds), when the answer says. */
  createdAt: number | null;
}

/** Body keys whose string value (or array of strings, or object with an `id`) names an object. */
const REQUEST_KEYS: Readonly<Record<string, ObjectType>> = {
  file_id: 'file',
  file_ids: 'file',
  input_file_id: 'file',
  training_file: 'file',
  validation_file: 'file',
  vector_store_id: 'vector_store',
  vector_store_ids: 'vector_store',
  previous_response_id: 'response',
  response_id: 'response',
  conversation: 'conversation',
  conversation_id: 'conversation',
  assistant_id: 'assistant',
  thread_id: 'thread',
  container: 'container',
  container_id: 'container',
  skill_id: 'skill',
  batch_id: 'batch',
  upload_id: 'upload',
  eval_id: 'eval',
  video: 'video',
  video_id: 'video',
  voice: 'voice',
  consent: 'voice_consent',
  model: 'model',
};

/** Answer keys whose ids the upstream made for the caller (batch output, fine-tuning results, auto containers, …). */
const ANSWER_KEYS: Readonly<Record<string, ObjectType>> = {
  output_file_id: 'file',
  error_file_id: 'file',
  result_files: 'file',
  file_id: 'file',
  file_ids: 'file',
  vector_store_id: 'vector_store',
  vector_store_ids: 'vector_store',
  container_id: 'container',
  fine_tuned_model: 'model',
  fine_tuned_model_checkpoint: 'model',
};

/**
 * Keys whose strings name an object only in one spelling: a built-in voice is a plain name ("alloy"), a custom one
 * `voice_…`; a video field can be an upload; a model is an object only when fine-tuned (`ft:…`).
 */
const ONLY_WITH_PREFIX: Readonly<Record<string, string>> = { voice: 'voice_', video: 'video_', model: 'ft:' };

/** Free-form subtrees the upstream never reads ids from: metadata, and the JSON schemas of tools and formats. */
const SKIPPED = new Set(['metadata', 'parameters', 'schema']);

function nameOf(key: string, value: string): boolean {
  if (value === '') return false;
  const prefix = ONLY_WITH_PREFIX[key];
  return prefix === undefined || value.startsWith(prefix);
}

// The only ids a body names that are not checked: each exemption needs the type the spec gives the object holding the
// id and an id of the shape the spec gives it, so a sibling member or a type tag alone switches no check off (a
// `file_id` beside a `container_id` was taken for a container's file, and reached another project's file).

/**
 * Anthropic's own Agent Skills (`{type: 'anthropic', skill_id: 'pptx'}` in a Messages `container`) are short names every
 * account shares, not objects: lower-case letters, digits and hyphens. A custom skill (`skill_01…`) is an object,
 * whatever type it is sent with.
 */
const isSharedSkill = (obj: Record<string, unknown>, key: string, id: string): boolean => key === 'skill_id' && obj.type === 'anthropic' && /^[a-z0-9-]{1,64}$/.test(id);

/**
 * A container file cited in an assistant message sent back (`{type: 'container_file_citation', container_id, file_id:
 * 'cfile_…'}`, Responses' output_text annotations): the file is the container's, and the container (named beside it) is
 * what is checked. Any other `file_id`, and any id not of a container file's shape (`file-…`), is a file and checked.
 */
const isCitedContainerFile = (obj: Record<string, unknown>, key: string, id: string): boolean =>
  key === 'file_id' && obj.type === 'container_file_citation' && id.startsWith('cfile_') && typeof obj.container_id === 'string' && obj.container_id !== '';

/**
 * Walks a JSON value (iteratively: a deeply nested body cannot exhaust the stack) and reports each id found under
 * one of `keys`, but for the two exemptions above.
 */
function walk(root: unknown, keys: Readonly<Record<string, ObjectType>>, found: (type: ObjectType, id: string, key: string) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') stack.push(v);
      continue;
    }
    const obj = node as Record<string, unknown>;
    // Typed references: an eval data source `{type: 'file_id', id}` and a Responses input `{type: 'item_reference', id}`.
    if (typeof obj.id === 'string' && obj.id !== '') {
      if (obj.type === 'file_id') found('file', obj.id, 'id');
      else if (obj.type === 'item_reference') found('item', obj.id, 'id');
    }
    // for…in allocates nothing (Object.keys would, per object); parsed JSON has no inherited enumerable keys.
    for (const key in obj) {
      const v = obj[key];
      if (v === null || v === undefined) continue;
      const type = keys[key];
      if (typeof v === 'string') {
        if (type && nameOf(key, v) && !isCitedContainerFile(obj, key, v) && !isSharedSkill(obj, key, v)) found(type, v, key);
        continue;
      }
      if (typeof v !== 'object' || SKIPPED.has(key)) continue;
      if (type) {
        if (Array.isArray(v)) {
          for (const s of v) if (typeof s === 'string' && nameOf(key, s)) found(type, s, key);
        } else if (typeof (v as { id?: unknown }).id === 'string' && (v as { id: string }).id !== '') {
          found(type, (v as { id: string }).id, key);
        }
      }
      stack.push(v);
    }
  }
}

/** Every object a request body names, at any depth. */
export function requestRefs(body: unknown, out: ObjectRef[] = []): ObjectRef[] {
  walk(body, REQUEST_KEYS, (type, id, param) => out.push({ type, id, param }));
  return out;
}

/**
 * The objects a chat completion body names, without walking all of it: a chat body names objects only in the content
 * parts of its messages (`{type: 'file', file: {file_id}}`) and in `audio.voice`. Messages with string content (the
 * usual ones) cost one type check each.
 */
export function chatRefs(body: Record<string, unknown>): ObjectRef[] | null {
  let out: ObjectRef[] | null = null;
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const m of messages) {
      const content = (m as { content?: unknown } | null)?.content;
      if (content !== null && typeof content === 'object') out = requestRefs(content, out ?? []);
    }
  }
  if (body.audio !== null && typeof body.audio === 'object') out = requestRefs(body.audio, out ?? []);
  return out;
}

/** Eval data sources that select stored objects by query: they read every project's responses and completions. */
export function queriesStoredObjects(body: unknown): boolean {
  let found = false;
  const stack: unknown[] = [body];
  while (stack.length > 0 && !found) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const v of node) stack.push(v);
      continue;
    }
    const obj = node as Record<string, unknown>;
    if (obj.type === 'stored_completions' || obj.type === 'logs') found = true;
    const source = obj.source as { type?: unknown } | null | undefined;
    if (source && typeof source === 'object' && source.type === 'responses') found = true;
    for (const key of Object.keys(obj)) if (!SKIPPED.has(key)) stack.push(obj[key]);
  }
  return found;
}

function createdAtOf(obj: Record<string, unknown>): number | null {
  const t = obj.created_at ?? obj.created;
  return typeof t === 'number' && Number.isFinite(t) ? Math.floor(t) : null;
}

function dig(answer: unknown, path: string): unknown {
  let v = answer;
  for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** The id of the object an answer created, at `path` (`id`, `file.id`, `thread_id`). */
export function createdObject(answer: unknown, type: ObjectType, path: string): AnswerObject | null {
  const id = dig(answer, path);
  if (typeof id !== 'string' || id === '') return null;
  const holder = path.includes('.') ? dig(answer, path.slice(0, path.lastIndexOf('.'))) : answer;
  return { type, id, createdAt: holder && typeof holder === 'object' ? createdAtOf(holder as Record<string, unknown>) : null };
}

/** The items of a response (`output`) or of an item list (`data`), which later requests may reference by id. */
export function itemsOf(answer: unknown, key: 'output' | 'data'): AnswerObject[] {
  const list = answer !== null && typeof answer === 'object' ? (answer as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(list)) return [];
  const out: AnswerObject[] = [];
  for (const item of list) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id !== '') out.push({ type: 'item', id, createdAt: null });
  }
  return out;
}

/** Ids an answer carries that the upstream made on the caller's behalf (adopted when nobody owns them yet). */
export function producedObjects(answer: unknown): AnswerObject[] {
  const out: AnswerObject[] = [];
  walk(answer, ANSWER_KEYS, (type, id) => out.push({ type, id, createdAt: null }));
  return out;
}
