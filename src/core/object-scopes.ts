import type { ObjectType } from './object-families.js';
import type { ObjectRef } from './object-refs.js';
import { type AccessLevel, isAllowed, levelForRequest, type PermissionsSpec } from './permissions.js';

// The scope an object named by a request needs, whatever the path it is named on: a body naming another resource's
// object reads (or writes) it through the path's resource. With `vector_stores: write` alone a key added a file to a
// vector store and read the file's contents there, though `GET /v1/files/{id}/content` refused it; `responses: write`
// read and wrote a conversation `GET /v1/conversations/{id}/items` refused it (found by an outside review). The
// objects are those the object plan finds (object-plan.ts), so nothing is scanned twice. What is a part of the
// path's own resource (ObjectRef.part: a vector store's record of a file, Anthropic's code execution container on its
// Messages API) needs no scope beyond the path's.

/**
 * The resources whose scope covers an object of each type: any one of them will do. None for a model (`ft:…`): running
 * one is the path's scope and the model allowlist's.
 */
const RESOURCES_OF: Readonly<Record<ObjectType, readonly string[]>> = {
  file: ['files'],
  upload: ['uploads'],
  batch: ['batches'],
  response: ['responses'],
  // An item of a stored response or of a conversation (both list theirs): either scope reads it.
  item: ['responses', 'conversations'],
  chat_completion: ['chat.completions'],
  vector_store: ['vector_stores'],
  assistant: ['assistants'],
  thread: ['threads'],
  fine_tuning_job: ['fine_tuning'],
  model: [],
  container: ['containers'],
  conversation: ['conversations'],
  eval: ['evals'],
  video: ['videos'],
  video_character: ['videos'],
  skill: ['skills'],
  chatkit_session: ['chatkit'],
  chatkit_thread: ['chatkit'],
  voice_consent: ['audio'],
  // None for a custom voice (`voice_…`) a request speaks in: used, not read (its recording is not given out), as a
  // model is run; the path's scope covers it (chat completions with audio, a realtime session), its project is checked.
  voice: [],
  realtime_call: ['realtime'],
  message_batch: ['messages'],
};

/**
 * Objects a request changes by naming them, beyond reading them: a response appends its items to the conversation it
 * names, and code run in a container writes its files. These need the request's own level (write for a POST).
 */
const WRITTEN_WHEN_NAMED: ReadonlySet<ObjectType> = new Set(['conversation', 'container']);

/** Routes that write nothing whatever they name: counting a response's or a message's input tokens. */
const WRITES_NOTHING: ReadonlySet<string> = new Set(['/responses/input_tokens', '/messages/count_tokens']);

/** The level a request (`endpoint` canonical, after `/v1`) writes the objects it names at: read on a route writing nothing. */
export function namedObjectsLevel(method: string, endpoint: string): AccessLevel {
  return WRITES_NOTHING.has(endpoint) ? 'read' : levelForRequest(method, endpoint);
}

/**
 * The first scope a key lacks for the objects a request names, or null when it has every one: read on each object's
 * resource, and the request's `level` on those it writes by naming them.
 */
export function missingObjectScope(perms: PermissionsSpec, level: AccessLevel, named: readonly ObjectRef[]): { resource: string; level: AccessLevel } | null {
  if (perms === 'all') return null;
  for (const ref of named) {
    const resources = RESOURCES_OF[ref.type];
    if (resources.length === 0 || ref.part) continue;
    const needs: AccessLevel = WRITTEN_WHEN_NAMED.has(ref.type) ? level : 'read';
    if (!resources.some((r) => isAllowed(perms, r, needs))) return { resource: resources[0], level: needs };
  }
  return null;
}
