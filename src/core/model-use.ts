import { BODILESS_METHODS } from './api-routes.js';

// How each OpenAI endpoint picks the model it runs (OpenAI API reference, openapi.yaml request bodies), so that a key
// limited to some models cannot reach another by leaving the model out.
//
// required  the request must name it (the upstream refuses it otherwise).
// defaulted naming it is optional and the upstream then runs a default model (images: dall-e-2, moderations:
//           omni-moderation-latest, runs: the assistant's model, …): a key with a model allowlist must name it.
// hidden    the model is not named at the top of the request (a batch's input file, an eval's graders, the source of a
//           remix, an SDP offer, a realtime session's nested config whose client secret is then used with the
//           provider directly, the model of a job or run the request makes go on): Tollgate cannot check it, so a key
//           with a model allowlist is refused, and so is every key of a project with a per-model rate limit.
//
// Every other POST of the spec runs no model (swept against openapi.yaml's paths): cancelling or pausing (a paused
// fine-tuning job spends nothing until it is resumed), modifying metadata (runs, threads, messages, stored
// completions, evals), adding conversation items or thread messages (they run only when a response or run is made),
// a realtime call's hangup, refer or reject, uploads, files, skills, containers, vector stores (their ingestion runs
// no model a key picks; they are refused to spend-limited keys as unmetered), a video character (a reference that a
// video generation, which names its model, uses). Anthropic's message batches and OpenAI's grader runs name their
// models deeper in the body (`requests[].params.model`, `grader.model`), where the allowlist reads them.

export type ModelUse = 'required' | 'defaulted' | 'hidden';

/** Endpoint patterns (POST, or any method with a body; relative to /v1; `*` is one path segment) and how they pick their model. */
const MODEL_USE: ReadonlyArray<readonly [string, ModelUse]> = [
  ['/chat/completions', 'required'],
  ['/completions', 'required'],
  ['/embeddings', 'required'],
  ['/responses', 'required'],
  ['/responses/compact', 'required'],
  ['/audio/speech', 'required'],
  ['/audio/transcriptions', 'required'],
  ['/audio/translations', 'required'],
  ['/fine_tuning/jobs', 'required'],
  ['/assistants', 'required'],
  // Anthropic's Messages API: both name their model.
  ['/messages', 'required'],
  ['/messages/count_tokens', 'required'],
  ['/responses/input_tokens', 'defaulted'],
  ['/moderations', 'defaulted'],
  ['/images/generations', 'defaulted'],
  ['/images/edits', 'defaulted'],
  ['/images/variations', 'defaulted'],
  ['/videos', 'defaulted'],
  ['/threads/runs', 'defaulted'],
  ['/threads/*/runs', 'defaulted'],
  ['/realtime/sessions', 'defaulted'],
  ['/realtime/calls/*/accept', 'defaulted'],
  ['/batches', 'hidden'],
  ['/evals/*/runs', 'hidden'],
  ['/threads/*/runs/*/submit_tool_outputs', 'hidden'],
  // Resumes training the job's model (another key's job, perhaps on a model this key may not use).
  ['/fine_tuning/jobs/*/resume', 'hidden'],
  ['/realtime/calls', 'hidden'],
  ['/realtime/transcription_sessions', 'hidden'],
  ['/realtime/client_secrets', 'hidden'],
  ['/realtime/translations/client_secrets', 'hidden'],
  ['/chatkit/sessions', 'hidden'],
  ['/videos/edits', 'hidden'],
  ['/videos/extensions', 'hidden'],
  ['/videos/*/remix', 'hidden'],
];

const EXACT = new Map<string, ModelUse>();
const WILDCARD: Array<{ segments: string[]; use: ModelUse }> = [];
for (const [pattern, use] of MODEL_USE) {
  if (pattern.includes('*')) WILDCARD.push({ segments: pattern.split('/'), use });
  else EXACT.set(pattern, use);
}

/**
 * How the endpoint (a canonical path relative to /v1, e.g. `/chat/completions`) picks its model; null when it runs none.
 * By every method that may carry a body: an upstream routing without regard to the method runs a PUT or a PATCH as the
 * POST it stands for (a PUT of an image generation naming no model, by a key allowed one model, ran the upstream's
 * default: found by an outside review).
 */
export function modelUseOf(method: string, endpoint: string): ModelUse | null {
  if (BODILESS_METHODS.has(method)) return null;
  const exact = EXACT.get(endpoint);
  if (exact !== undefined) return exact;
  const segments = endpoint.split('/');
  for (const w of WILDCARD) {
    if (w.segments.length === segments.length && w.segments.every((s, i) => s === '*' || s === segments[i])) return w.use;
  }
  return null;
}

/** The endpoints whose body must be a JSON object (as OpenAI answers: the four billed per token; Anthropic's two). */
export const JSON_MODEL_ENDPOINTS: ReadonlySet<string> = new Set(['/chat/completions', '/completions', '/embeddings', '/responses', '/messages', '/messages/count_tokens']);
