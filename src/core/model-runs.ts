import { memberInAnyCase } from './member-case.js';

// What a request makes the provider run beyond its own path, in scope words (permissions.ts): a restricted key needs
// `write` on each. An eval run's data source samples a model on every row (`completions`: the Chat Completions API,
// `responses`: the Responses API), and a model grader (`score_model`, `label_model`, also inside a `multi` grader) runs
// its `grader.model` on what it grades. A model grader's input is a list of chat messages sampled once per item, as a
// chat completion is: it needs `chat.completions: write` (docs/admin-api.md). With `evals: write` or
// `fine_tuning: write` alone, a key ran models its scope refused (found by an outside review).

/** The resource a grader running a model needs `write` on. */
export const MODEL_GRADER_RESOURCE = 'chat.completions';

const MODEL_GRADERS: ReadonlySet<unknown> = new Set(['score_model', 'label_model']);

/** The resource an eval run's data source samples its model through, by the source's `type`. */
const DATA_SOURCE_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  completions: ['chat.completions'],
  responses: ['responses'],
  jsonl: [],
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The eval a path runs (`/evals/{id}/runs`, canonical), or null. */
export function evalRunOf(endpoint: string): string | null {
  const m = /^\/evals\/([^/]+)\/runs$/.exec(endpoint);
  return m ? m[1] : null;
}

/**
 * Graders stored with an object at the provider that a request runs again: an eval's `testing_criteria` at each of its
 * runs, a reinforcement fine-tuning job's `method.reinforcement.grader` when the job is resumed. Whoever stored them,
 * the request that runs them is the one that spends: a key that may not run model graders has the object read first.
 */
export interface StoredGraders {
  /** What the object is, for messages (`eval`, `fine-tuning job`). */
  what: string;
  /** Its id as the path names it (still percent-encoded). */
  id: string;
  /** Where it is read (GET), relative to `/v1`. */
  path: string;
  /**
   * Its graders in the object as read: null when it has none, undefined when the object is not one the gateway can
   * read them from. Throws 400 (`invalid_value`) for a member in two spellings (member-case.ts).
   */
  gradersOf(stored: unknown): unknown;
}

/** The stored graders a request to `endpoint` (canonical) runs again, or null. */
export function storedGradersRunBy(endpoint: string): StoredGraders | null {
  const evalId = evalRunOf(endpoint);
  if (evalId !== null) {
    return { what: 'eval', id: evalId, path: `/evals/${evalId}`, gradersOf: (s) => (isObject(s) ? memberInAnyCase(s, 'testing_criteria') : undefined) };
  }
  const job = /^\/fine_tuning\/jobs\/([^/]+)\/resume$/.exec(endpoint);
  if (job !== null) return { what: 'fine-tuning job', id: job[1], path: `/fine_tuning/jobs/${job[1]}`, gradersOf: jobGraders };
  return null;
}

/** A fine-tuning job's grader: none for a job of another method, or of none (a supervised job made before `method`). */
function jobGraders(stored: unknown): unknown {
  if (!isObject(stored)) return undefined;
  const method = memberInAnyCase(stored, 'method');
  const reinforcement = isObject(method) ? memberInAnyCase(method, 'reinforcement') : undefined;
  return isObject(reinforcement) ? (memberInAnyCase(reinforcement, 'grader') ?? null) : null;
}

/**
 * Whether a grader (or a list or map of them) runs a model: a model grader, or a `multi` grader one of whose
 * `graders` does. Members read in any case, two spellings refused (member-case.ts). A multi grader's `graders` is read
 * as one grader, a map of them (the spec says the one, OpenAI's examples the other) or a list of either, at any depth:
 * an object with no `type` is a map (a list of maps hid a model grader from the check: found by an outside review).
 */
export function runsModelGrader(grader: unknown): boolean {
  const stack: unknown[] = [grader];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!isObject(node)) continue;
    const type = memberInAnyCase(node, 'type');
    if (MODEL_GRADERS.has(type)) return true;
    if (type === 'multi') {
      const candidates: unknown[] = [memberInAnyCase(node, 'graders')];
      while (candidates.length > 0) {
        const c = candidates.pop();
        if (Array.isArray(c)) candidates.push(...c);
        else if (isObject(c)) {
          stack.push(c);
          if (memberInAnyCase(c, 'type') === undefined) candidates.push(...Object.values(c));
        }
      }
    }
  }
  return false;
}

/**
 * The endpoints a batch may run, exactly as OpenAI's API lists them (openapi.yaml, CreateBatchRequest `endpoint`): any
 * other spelling is refused, as OpenAI refuses it. Read as a path, `/v1/embeddings/../chat/completions` was scoped as
 * embeddings, and an upstream resolving it ran chat completions (found by an outside review).
 */
export const BATCH_ENDPOINTS: ReadonlySet<string> = new Set([
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/videos',
]);

/**
 * The body members that decide what a request to `endpoint` makes the provider run beyond its path: a batch's
 * `endpoint`, an eval run's `data_source`, a grader run's `grader`, a fine-tuning job's `method`. They are read from the
 * body only: named in the query string, an upstream merging the query into the body may run one no check saw (a grader
 * run with `?grader=…` and no grader in its body ran a model grader unchecked: found by an outside review).
 */
export function runDecidingParams(endpoint: string): readonly string[] {
  if (endpoint === '/batches') return ['endpoint'];
  if (evalRunOf(endpoint) !== null) return ['data_source'];
  if (endpoint === '/fine_tuning/alpha/graders/run') return ['grader'];
  if (endpoint === '/fine_tuning/jobs') return ['method'];
  return [];
}

/**
 * The resources a request (of any method that may carry a body) to `endpoint` with this JSON body makes the provider run a model through, beyond the path's own
 * (each needs `write`); empty for most requests. A body that is not a JSON object is `null`: an eval run or grader run
 * then names nothing the gateway can read, and is taken to run anything (`unknownBody`).
 */
export function modelRunsOf(endpoint: string, body: Record<string, unknown> | null, unknownBody: boolean): readonly string[] {
  if (evalRunOf(endpoint) !== null) {
    if (body === null) return unknownBody ? ['chat.completions', 'responses'] : [];
    const source = body.data_source;
    if (source === undefined || source === null) return [];
    const type = isObject(source) ? memberInAnyCase(source, 'type') : undefined;
    // A type the gateway does not know may be one the upstream runs a model for: no scope can be shown to allow it.
    return typeof type === 'string' && Object.hasOwn(DATA_SOURCE_RESOURCES, type) ? DATA_SOURCE_RESOURCES[type] : ['chat.completions', 'responses'];
  }
  if (endpoint === '/fine_tuning/alpha/graders/run') {
    if (body === null) return unknownBody ? [MODEL_GRADER_RESOURCE] : [];
    return runsModelGrader(body.grader) ? [MODEL_GRADER_RESOURCE] : [];
  }
  if (endpoint === '/fine_tuning/jobs') {
    // Reinforcement fine-tuning grades every sample with `method.reinforcement.grader`.
    if (body === null) return unknownBody ? [MODEL_GRADER_RESOURCE] : [];
    const method = body.method;
    const reinforcement = isObject(method) ? memberInAnyCase(method, 'reinforcement') : undefined;
    return isObject(reinforcement) && runsModelGrader(memberInAnyCase(reinforcement, 'grader')) ? [MODEL_GRADER_RESOURCE] : [];
  }
  return [];
}
