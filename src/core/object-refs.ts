import type { ObjectType } from './object-families.js';
import { foldName, memberInAnyCase, membersInAnyCase } from './member-case.js';

// Where object ids appear in request bodies and in answers. The request side is every body field of
// openapi.yaml that names an object (file_id, input_file_id, training_file, previous_response_id, vector_store_ids,
// assistant_id, conversation, container, video, voice, …), matched by key at any depth, so the same field in a new
// place (a tool, an input item, a prompt variable) is checked too.

/** An object a request names, and the parameter it was named in (for the 404's `param`). */
export interface ObjectRef {
  type: ObjectType;
  id: string;
  param: string | null;
  /**
   * A part of the resource the request's path is in, not another resource's object read through it (a vector store's
   * record of a file, below the store's path; the container Anthropic's Messages API runs code in): the path's scope
   * covers it (object-scopes.ts). Its project is checked all the same.
   */
  part?: true;
}

/** An object an answer carries: created by the request, or made by the upstream for the caller (adopted). */
export interface AnswerObject {
  type: ObjectType;
  id: string;
  /** The upstream's created_at (unix seconds), when the answer says. */
  createdAt: number | null;
}

/** Keys looked up without the prototype's (`constructor`, `toString` name no object). */
const keyTable = (entries: Record<string, ObjectType>): Readonly<Record<string, ObjectType>> => Object.freeze(Object.assign(Object.create(null), entries));

/** Body keys whose string value (or array of strings, or object with an `id`) names an object. */
const REQUEST_KEYS = keyTable({
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
});

/** Answer keys whose ids the upstream made for the caller (batch output, fine-tuning results, auto containers, …). */
const ANSWER_KEYS = keyTable({
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
});

/**
 * Keys whose strings name an object only in one spelling: a built-in voice is a plain name ("alloy"), a custom one
 * `voice_…`; a video field can be an upload; a model is an object only when fine-tuned (`ft:…`).
 */
const ONLY_WITH_PREFIX: Readonly<Record<string, string>> = { voice: 'voice_', video: 'video_', model: 'ft:' };

/**
 * Where a request holds free text the upstream never reads ids from: metadata, function parameters and the JSON
 * schemas of structured outputs, at the places openapi.yaml gives them (paths from the body, `[]` an array's element).
 * By place, never by name: a member named `metadata`, `parameters` or `schema` anywhere else may be a name the client
 * chose (a Responses prompt's `variables`, whose values may be files) and is read as any other (a prompt variable
 * named `parameters` carried another project's file unchecked: found by an outside review). A place missing here is
 * read whole, which can only refuse more.
 */
const FREE_TEXT_PLACES = [
  'metadata',
  'tracing.metadata',
  'thread.metadata',
  'messages[].metadata',
  'thread.messages[].metadata',
  'additional_messages[].metadata',
  'tool_resources.file_search.vector_stores[].metadata',
  'thread.tool_resources.file_search.vector_stores[].metadata',
  'data_source_config.metadata',
  'data_source.source.metadata',
  'functions[].parameters',
  ...['', 'session.', 'data_source.sampling_params.'].flatMap((at) => [
    `${at}tools[].parameters`,
    `${at}tools[].function.parameters`,
    `${at}tools[].tools[].parameters`,
    `${at}response_format.json_schema.schema`,
    `${at}text.format.schema`,
  ]),
  'session.tracing.metadata',
  'input[].tools[].parameters',
  'input[].tools[].tools[].parameters',
  'items[].tools[].parameters',
  'items[].tools[].tools[].parameters',
];

/**
 * Where a request lists input items (Responses' `input`, a conversation's `items`): an item there with an `id` and no
 * `type` (or a null one) is an item reference (openapi ItemReferenceParam: its `type` may be left out), which the
 * provider loads by its id.
 */
const ITEM_LISTS = ['input[]', 'items[]'];

/** A place in a request body on the way to one of the places above: its members and elements that lead on. */
interface Place {
  members: Map<string, Place>;
  element: Place | null;
  /** Whether what is here is free text (not read). */
  free: boolean;
  /** Whether what is here is an input item (ITEM_LISTS). */
  item: boolean;
}

const newPlace = (): Place => ({ members: new Map(), element: null, free: false, item: false });
/** The body's top level; null below stands for a place that leads to none of the places above. */
const BODY: Place = newPlace();

function placeAt(path: string): Place {
  let place = BODY;
  for (const part of path.split('.')) {
    const name = part.endsWith('[]') ? part.slice(0, -2) : part;
    const next = place.members.get(name) ?? newPlace();
    place.members.set(name, next);
    place = next;
    if (part.endsWith('[]')) {
      place.element ??= newPlace();
      place = place.element;
    }
  }
  return place;
}
for (const path of FREE_TEXT_PLACES) placeAt(path).free = true;
for (const path of ITEM_LISTS) placeAt(path).item = true;

/**
 * In an answer, the subtrees of these names wherever they are: metadata, schemas and what the caller's side wrote (tool
 * input schemas, an MCP server's or a tool's echoed, and tool environments). An id found there was adopted as made for
 * the caller: another project's unclaimed batch output, fine-tuned model or vector store, put in a schema by the caller's
 * own MCP server (found by an outside review). By name, as passing over more adopts less.
 */
const ANSWER_SKIPPED = new Set(['metadata', 'parameters', 'schema', 'input_schema', 'env']);
/** Answer keys only the provider's own result objects carry, and the objects (their `object`) that carry them. */
const RESULT_KEYS: ReadonlySet<string> = new Set(['output_file_id', 'error_file_id', 'result_files', 'fine_tuned_model', 'fine_tuned_model_checkpoint']);
const PROVIDER_RESULT_OBJECTS: ReadonlySet<string> = new Set(['batch', 'fine_tuning.job', 'fine_tuning.job.checkpoint']);

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
const isSharedSkill = (obj: Readonly<Record<string, unknown>>, key: string, id: string): boolean => key === 'skill_id' && obj.type === 'anthropic' && /^[a-z0-9-]{1,64}$/.test(id);

/**
 * A container file cited in an assistant message sent back (`{type: 'container_file_citation', container_id, file_id:
 * 'cfile_…'}`, Responses' output_text annotations): the file is the container's, and the container (named beside it) is
 * what is checked. Any other `file_id`, and any id not of a container file's shape (`file-…`), is a file and checked.
 */
const isCitedContainerFile = (obj: Readonly<Record<string, unknown>>, key: string, id: string): boolean =>
  key === 'file_id' && obj.type === 'container_file_citation' && id.startsWith('cfile_') && typeof obj.container_id === 'string' && obj.container_id !== '';

/**
 * The members a walk decides on besides the keys naming objects: typed references, the exemptions' tags, and whether
 * a reasoning item carries its content. Every member whose value decides whether an id is checked is one of these, read
 * in any case (an `Encrypted_Content` of null beside an `encrypted_content` let a reasoning item's id pass unchecked to
 * an upstream folding names and keeping the last: found by an outside review).
 */
const TAGS: ReadonlySet<string> = new Set(['id', 'type', 'container_id', 'encrypted_content']);

/** How a walk reads the members it decides on: a request's in any case (member-case.ts), an answer's as sent. */
type Members = (obj: Record<string, unknown>) => Readonly<Record<string, unknown>>;
/** The `type` values a walk decides on: typed references, and the exemptions' tags. */
const DECIDING_TYPES: ReadonlySet<unknown> = new Set(['file_id', 'item_reference', 'reasoning', 'container_file_citation', 'anthropic']);
const NO_TAGS: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null));
const inAnyCase: Members = (obj) => membersInAnyCase(obj, TAGS);
/** The tags of an object the walk passes (a request's): inAnyCase, but for two spellings that cannot matter. */
const tagsInAnyCase: Members = (obj) => {
  try {
    return membersInAnyCase(obj, TAGS);
  } catch (err) {
    // Two spellings of a tag in an object no spelling of whose `type` makes it a typed reference, a reasoning item or
    // an exemption (a JSON schema's properties named `id` and `ID`, a tool's input): it names nothing by them,
    // whichever an upstream reads, and no exemption applies to it. Otherwise which one counts is unknowable. (An input
    // item with no type is one the walk reads, here as in walk: its two spellings are refused as well.)
    for (const key in obj) if (foldName(key) === 'type' && DECIDING_TYPES.has(obj[key])) throw err;
    return NO_TAGS;
  }
};
const asSent: Members = (obj) => obj;

/**
 * Walks a JSON value (iteratively: a deeply nested body cannot exhaust the stack) and reports each id found under
 * one of `keys`, but for the two exemptions above.
 */
function walk(
  root: unknown,
  keys: Readonly<Record<string, ObjectType>>,
  read: { tags: Members; members: Members; answer?: boolean; from: Place | null },
  found: (type: ObjectType, id: string, key: string) => void,
): void {
  // Each node with its place (pushed in pairs: no allocation per node).
  const stack: unknown[] = [root, read.from];
  while (stack.length > 0) {
    const place = stack.pop() as Place | null;
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      const element = place?.element ?? null;
      for (const v of node) if (v !== null && typeof v === 'object') stack.push(v, element);
      continue;
    }
    const obj = node as Record<string, unknown>;
    // Typed references: an eval data source `{type: 'file_id', id}` and a Responses input `{type: 'item_reference', id}`,
    // in any case (`{"Type": "file_id", "ID": …}` named another project's file to an upstream folding names).
    // An input item's tags are read in any case whatever its type: one with no type is a reference.
    const tags = place?.item ? inAnyCase(obj) : read.tags(obj);
    if (typeof tags.id === 'string' && tags.id !== '') {
      if (tags.type === 'file_id') found('file', tags.id, 'id');
      else if (tags.type === 'item_reference') found('item', tags.id, 'id');
      // An input item with no type is an item reference (ITEM_LISTS).
      else if (place?.item && (tags.type === undefined || tags.type === null)) found('item', tags.id, 'id');
      // A reasoning item handed back without its encrypted content stands for the stored one, which the provider loads
      // by its id ("Item with id 'rs_…' not found" when it was not stored): a reference (another project's reasoning
      // was read into the context that way: found by an outside review). Only content given (a non-empty string, in
      // any case, once) makes it one passed by value.
      else if (!read.answer && tags.type === 'reasoning' && (typeof tags.encrypted_content !== 'string' || tags.encrypted_content === '')) found('item', tags.id, 'id');
    }
    // In an answer, what the caller's own tools wrote (an MCP server's tool list) is no object the provider made.
    if (read.answer && obj.type === 'mcp_list_tools') continue;
    // Ids only the provider's own objects name (a batch's output, a fine-tuning job's results) are read there only.
    const providerObject = !read.answer || (typeof obj.object === 'string' && PROVIDER_RESULT_OBJECTS.has(obj.object));
    // for…in allocates nothing (Object.keys would, per object); parsed JSON has no inherited enumerable keys.
    for (const key in obj) {
      const v = obj[key];
      if (v === null || v === undefined) continue;
      // A name in another case too (`FILE_ID`, or with the Kelvin sign or long s): Go's encoding/json matches names
      // without regard to case, and would read it as the one checked.
      const name = foldName(key);
      const type = providerObject || !RESULT_KEYS.has(name) ? keys[name] : undefined;
      if (typeof v === 'string') {
        if (type && nameOf(name, v) && !isCitedContainerFile(tags, name, v) && !isSharedSkill(tags, name, v)) found(type, v, key);
        continue;
      }
      if (typeof v !== 'object') continue;
      const at = place?.members.get(key) ?? null;
      if (read.answer ? ANSWER_SKIPPED.has(key) : at?.free) continue;
      if (type) {
        if (Array.isArray(v)) {
          for (const s of v) if (typeof s === 'string' && nameOf(name, s)) found(type, s, key);
        } else {
          // An object naming one by its `id` (`conversation: {id}`), in any case for a request.
          const id = read.members(v as Record<string, unknown>).id;
          if (typeof id === 'string' && id !== '') found(type, id, key);
        }
      }
      stack.push(v, at);
    }
  }
}

// What a repeated member hides: JSON.parse keeps the last of two members of one name, a reader keeping the first acts
// on the other ({"file_ids": ["<another project's>"], "file_ids": []}). A JSON body that may name an object is scanned
// for a repeated member (core/repeated-members.ts) and refused when it has one; the scan is skipped, on the hot path,
// for a body whose text names no object in any spelling, which mayNameObjects tells from the bytes after each quote.

/** The words an object is named by (any case): the request keys but `model`, the typed references, `ft:` models. */
const OBJECT_WORDS: Uint8Array[][] = [];
for (const word of [...Object.keys(REQUEST_KEYS).filter((k) => k !== 'model'), 'item_reference', 'ft:']) {
  const first = word.charCodeAt(0);
  OBJECT_WORDS[first] = [...(OBJECT_WORDS[first] ?? []), Buffer.from(word)];
}

/**
 * Whether raw[at…] starts with the lower-case word in any case, a long s (C5 BF) standing for an s and a Kelvin sign
 * (E2 84 AA) for a k, as Go folds them.
 */
function startsWithFolded(raw: Uint8Array, at: number, word: Uint8Array): boolean {
  let j = at;
  for (let i = 0; i < word.length; i++) {
    const b = raw[j];
    if (b === word[i] || (b | 0x20) === word[i]) j++;
    else if (b === 0xc5 && word[i] === 0x73 && raw[j + 1] === 0xbf) j += 2;
    else if (b === 0xe2 && word[i] === 0x6b && raw[j + 1] === 0x84 && raw[j + 2] === 0xaa) j += 3;
    else return false;
  }
  return true;
}

/** The words a string may start with, by its first byte: a long s or a Kelvin sign starts an s or a k word. */
function wordsAt(raw: Uint8Array, at: number): Uint8Array[] | undefined {
  const b = raw[at];
  if (b === 0xc5) return OBJECT_WORDS[0x73];
  if (b === 0xe2) return OBJECT_WORDS[0x6b];
  return OBJECT_WORDS[b | 0x20];
}

/**
 * Whether a JSON text may name an object: a string (key or value) starting with one of the words above in any case,
 * an escape that may spell one (`\u0020`–`\u007f`, the long s, the Kelvin sign). False means no member, repeated or
 * not, names an object. Looks only after each quote and backslash (found by memchr).
 */
export function mayNameObjects(raw: Buffer): boolean {
  for (let q = raw.indexOf(0x22); q >= 0; q = raw.indexOf(0x22, q + 1)) {
    const words = wordsAt(raw, q + 1);
    if (words) for (const word of words) if (startsWithFolded(raw, q + 1, word)) return true;
  }
  for (let b = raw.indexOf(0x5c); b >= 0; b = raw.indexOf(0x5c, b + 2)) {
    if (raw[b + 1] !== 0x75) continue;
    const h0 = raw[b + 2];
    const h1 = raw[b + 3];
    const h2 = raw[b + 4];
    const h3 = raw[b + 5] | 0x20;
    if (h0 === 0x30 && h1 === 0x30 && h2 >= 0x32 && h2 <= 0x37) return true; // \u0020–\u007f
    if ((h0 === 0x30 && h1 === 0x31 && h2 === 0x37 && h3 === 0x66) || (h0 === 0x32 && h1 === 0x31 && h2 === 0x32 && h3 === 0x61)) return true; // ſ, K
  }
  return false;
}

/** Every object a request body names, at any depth. */
export function requestRefs(body: unknown, out: ObjectRef[] = []): ObjectRef[] {
  return refsIn(body, BODY, out);
}

/** Every object a part of a request names: `from` its place in the body, null for one read whole. */
function refsIn(value: unknown, from: Place | null, out: ObjectRef[]): ObjectRef[] {
  walk(value, REQUEST_KEYS, { tags: tagsInAnyCase, members: inAnyCase, from }, (type, id, param) => out.push({ type, id, param }));
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
      // In any case: `{"role": "user", "Content": [{file}]}` is a message's content to an upstream folding names.
      const content = m !== null && typeof m === 'object' && !Array.isArray(m) ? memberInAnyCase(m as Record<string, unknown>, 'content') : undefined;
      if (content !== null && typeof content === 'object') out = refsIn(content, null, out ?? []);
    }
  }
  if (body.audio !== null && typeof body.audio === 'object') out = refsIn(body.audio, null, out ?? []);
  return out;
}

/** The values of every member of `obj` whose name folds to `name` (lower case). */
function spellingsOf(obj: Readonly<Record<string, unknown>>, name: string): unknown[] {
  const out: unknown[] = [];
  for (const key in obj) if (key === name || foldName(key) === name) out.push(obj[key]);
  return out;
}

/** Eval data sources that select stored objects by query: they read every project's responses and completions. */
export function queriesStoredObjects(body: unknown): boolean {
  let found = false;
  const stack: unknown[] = [body, BODY];
  while (stack.length > 0 && !found) {
    const place = stack.pop() as Place | null;
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const v of node) stack.push(v, place?.element ?? null);
      continue;
    }
    const obj = node as Record<string, unknown>;
    // In any case, as an upstream folding names reads them (`{"Type": "stored_completions"}`); of two spellings, either
    // (an eval item's schema may have properties `type` and `Type`: honest, and taken for a query only when one says so).
    for (const type of spellingsOf(obj, 'type')) if (type === 'stored_completions' || type === 'logs') found = true;
    for (const source of spellingsOf(obj, 'source')) {
      if (source && typeof source === 'object' && !Array.isArray(source) && spellingsOf(source as Record<string, unknown>, 'type').includes('responses')) found = true;
    }
    // Free text only where the API puts it (FREE_TEXT_PLACES), as requestRefs reads it.
    for (const key of Object.keys(obj)) {
      const at = place?.members.get(key) ?? null;
      if (!at?.free) stack.push(obj[key], at);
    }
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
  walk(answer, ANSWER_KEYS, { tags: asSent, members: asSent, answer: true, from: null }, (type, id) => out.push({ type, id, createdAt: null }));
  return out;
}
