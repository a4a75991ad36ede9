import type { ServiceDeps } from './context.js';

// A background response (`"background": true`) answers `queued` at once and runs afterwards: what it costs is only
// seen when its finished result is retrieved (`GET /v1/responses/{id}`). The gateway records each one it creates,
// and bills its usage once, on the first retrieval of the finished result, whichever instance serves it: the
// conditional UPDATE is the claim, so two concurrent retrievals (or a retry after a restart) never bill it twice.

/** Who created a background response, and with which model. */
export interface BackgroundResponse {
  responseId: string;
  orgId: string;
  projectId: string | null;
  apiKeyId: string | null;
  model: string | null;
}

/** Longest response id recorded (OpenAI's are `resp_` and ~50 hex characters); a longer one is not recorded. */
const MAX_ID_LENGTH = 256;

/** Records a background response awaiting billing (kept as it was if already recorded). */
export async function recordBackgroundResponse(deps: ServiceDeps, r: BackgroundResponse): Promise<void> {
  if (r.responseId.length === 0 || r.responseId.length > MAX_ID_LENGTH) return;
  await deps.database.db
    .insertInto('background_responses')
    .values({
      response_id: r.responseId,
      org_id: r.orgId,
      project_id: r.projectId,
      api_key_id: r.apiKeyId,
      model: r.model,
      created_at: deps.clock(),
      billed_at: null,
    })
    .onConflict((oc) => oc.column('response_id').doNothing())
    .execute();
}

/**
 * Claims a recorded background response of this organization for billing: the response when this call is the one
 * that bills it, null when it is not recorded (not created through the gateway, or not in the background) or was
 * billed already.
 */
export async function claimBackgroundResponse(deps: ServiceDeps, orgId: string, responseId: string): Promise<BackgroundResponse | null> {
  if (responseId.length === 0 || responseId.length > MAX_ID_LENGTH) return null;
  const db = deps.database.db;
  const claimed = await db
    .updateTable('background_responses')
    .set({ billed_at: deps.clock() })
    .where('response_id', '=', responseId)
    .where('org_id', '=', orgId)
    .where('billed_at', 'is', null)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return null;
  const row = await db.selectFrom('background_responses').selectAll().where('response_id', '=', responseId).executeTakeFirstOrThrow();
  return { responseId, orgId: row.org_id, projectId: row.project_id, apiKeyId: row.api_key_id, model: row.model };
}
