import { TollgateError } from '../../core/errors.js';
import { MODEL_GRADER_RESOURCE, runsModelGrader, type StoredGraders } from '../../core/model-runs.js';
import { isAllowed } from '../../core/permissions.js';
import type { Upstream, UpstreamBody, UpstreamResponse } from '../../core/upstream.js';
import type { KeyRecord } from '../../core/verify.js';
import { requireScope } from './authorize.js';
import type { GatewayContext } from './gateway-context.js';
import { BUFFER_LIMIT, readBounded } from './pass-through.js';

// Graders stored with an object run again by later requests: an eval's `testing_criteria` at each of its runs, a
// reinforcement fine-tuning job's grader when the job is resumed (core/model-runs.ts, storedGradersRunBy). A run of an
// eval with a model grader runs that model on every row, whoever made the eval. So the check is made where the
// spending is: for a key that may not run the grader's model, the object is read from the upstream first, and the
// request refused (403) when one of its graders runs a model, as checkDelegatedScope refuses what a body names.

/**
 * The upstream as seen by a request of a key that may not run model graders, which runs the graders `stored` with an
 * object: the object is read from `provider` (as is, past no answer handling) and its graders checked before the
 * request goes to `next`. The provider's refusal of the read (a rate limit, its own permissions) is the client's answer.
 */
export function storedGradersChecked(g: GatewayContext, record: KeyRecord, stored: StoredGraders, provider: Upstream, next: Upstream, credential: string | null): Upstream {
  return {
    name: next.name,
    format: next.format,
    models: next.models,
    totalTimeoutMs: next.totalTimeoutMs,
    credential: next.credential,
    send: async (req) => {
      // From the account that holds the object (`credential`, the request's pin: ownership.ts): read from another key's,
      // it is a 404, and the request would run past the check.
      const read: Parameters<Upstream['send']>[0] = { method: 'GET', path: stored.path, search: '', headers: { accept: 'application/json' }, body: null, project: req.project, client: req.client, signal: req.signal };
      if (credential !== null) read.credential = credential;
      const up = await provider.send(read);
      // No such object: the request is answered by the upstream as well (its 404), and runs nothing.
      if (up.statusCode === 404) {
        await discard(up);
        return next.send(req);
      }
      // Refused (a 429 with its retry-after, a 5xx): the client's answer, handled as any answer of the provider's is
      // (a 401 about Tollgate's credentials a 502 upstream_auth_failed, proxy.ts), and nothing runs.
      if (up.statusCode >= 400) return up;
      if (await runsModel(stored, up)) requireScope(g, record, MODEL_GRADER_RESOURCE, 'write');
      return next.send(req);
    },
    close: () => Promise.resolve(),
  };
}

/** Whether the graders of the object the provider answered with run a model; 502 when they cannot be read safely. */
async function runsModel(stored: StoredGraders, up: UpstreamResponse): Promise<boolean> {
  const what = `${stored.what} ${stored.id.slice(0, 200)}`;
  const unreadable = (why: string) => new TollgateError('upstream_error', `The stored ${what} could not be read safely to check what its graders run: ${why}.`);
  if (up.statusCode !== 200) {
    await discard(up);
    throw unreadable(`the upstream answered ${up.statusCode}`);
  }
  // Bounded, as every answer the gateway reads: an object of gigabytes is not held whole.
  const read = await readBounded(up.body, BUFFER_LIMIT);
  if (read.over) {
    cancel(read.body);
    throw unreadable(`its answer is larger than ${BUFFER_LIMIT} bytes`);
  }
  const text = await read.body.readAll().catch(() => null);
  if (text === null) throw unreadable('the upstream broke off its answer');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    throw unreadable('its answer is not JSON');
  }
  try {
    const graders = stored.gradersOf(parsed);
    if (graders === undefined) throw unreadable('its answer does not hold them');
    return runsModelGrader(graders);
  } catch (err) {
    // A member in two spellings (a grader's `type`): which one the provider runs cannot be known. The provider's data,
    // not the client's request: never the 400 member-case.ts answers a request with.
    if (err instanceof TollgateError && err.code === 'invalid_value') throw unreadable(`it names '${String(err.param ?? 'a member').slice(0, 100)}' in two spellings`);
    throw err;
  }
}

/** Reads and drops an answer not passed on, bounded (its connection goes back to the pool, or is cut). */
async function discard(up: UpstreamResponse): Promise<void> {
  const read = await readBounded(up.body, BUFFER_LIMIT);
  if (read.over) cancel(read.body);
}

/** Stops reading a body and frees its connection; the broken read that follows is expected. */
function cancel(body: UpstreamBody): void {
  const piped = body.pipe(() => true);
  piped.done.catch(() => undefined);
  piped.cancel();
}

/** Whether a request by this key that runs stored graders needs them checked: a restricted key that may not run model graders. */
export function mayNotRunGraders(record: KeyRecord): boolean {
  return !isAllowed(record.permissions, MODEL_GRADER_RESOURCE, 'write');
}
