import { TollgateError } from '../../core/errors.js';
import { MODEL_GRADER_RESOURCE, runsModelGrader } from '../../core/model-runs.js';
import { isAllowed } from '../../core/permissions.js';
import type { Upstream } from '../../core/upstream.js';
import type { KeyRecord } from '../../core/verify.js';
import { requireScope } from './authorize.js';
import type { GatewayContext } from './gateway-context.js';

// An eval's graders (`testing_criteria`) are stored with the eval and run by each of its runs: a run of an eval with a
// model grader runs that model on every row, whoever made the eval. So the check is made where the spending is, at
// the run: for a key that may not run the grader's model, the eval is read from the upstream first, and a run of one
// with a model grader refused (403), as checkDelegatedScope refuses what the run's own body names.

/**
 * The upstream as seen by an eval run of a key that may not run model graders: the eval is read from `provider` (as
 * is, past no answer handling) and its graders checked before the run goes to `next`.
 */
export function evalGradersChecked(g: GatewayContext, record: KeyRecord, evalSegment: string, provider: Upstream, next: Upstream): Upstream {
  return {
    name: next.name,
    format: next.format,
    models: next.models,
    totalTimeoutMs: next.totalTimeoutMs,
    credential: next.credential,
    send: async (req) => {
      const up = await provider.send({ method: 'GET', path: `/evals/${evalSegment}`, search: '', headers: { accept: 'application/json' }, body: null, project: req.project, client: req.client, signal: req.signal });
      const text = await up.body.readAll().catch(() => null);
      // No such eval: the run is answered by the upstream as well (its 404), and runs nothing.
      if (up.statusCode !== 404) {
        let criteria: unknown;
        try {
          criteria = up.statusCode === 200 && text !== null ? (JSON.parse(text.toString('utf8')) as { testing_criteria?: unknown }).testing_criteria : undefined;
        } catch {
          criteria = undefined;
        }
        if (criteria === undefined) {
          throw new TollgateError('upstream_error', `Tollgate could not read the eval ${evalSegment.slice(0, 200)} to check what its graders run (the upstream answered ${up.statusCode}).`);
        }
        if (runsModelGrader(criteria)) requireScope(g, record, MODEL_GRADER_RESOURCE, 'write');
      }
      return next.send(req);
    },
    close: () => Promise.resolve(),
  };
}

/** Whether an eval run by this key needs its eval's graders checked: a restricted key that may not run model graders. */
export function mayNotRunGraders(record: KeyRecord): boolean {
  return !isAllowed(record.permissions, MODEL_GRADER_RESOURCE, 'write');
}
