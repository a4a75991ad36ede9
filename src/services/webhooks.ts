import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { randomBase62 } from '../core/base62.js';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { requestUrlProblem, urlOrigin } from '../core/provider-url.js';
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../core/webhook-retries.js';
import { writeAudit } from './audit.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, Executor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { afterSeq, type ListPage, type PageQuery, toPage } from './pagination.js';
import type { SecretCipher } from '../core/ports.js';
import { webhookSecretContext } from './sealed-secrets.js';
import { text } from './text-fields.js';
import { type WebhookDeliveryOptions, WebhookDispatcher } from './webhook-dispatcher.js';
import type { CreatedWebhook, WebhookObject } from '../contract/webhooks.js';

export type { WebhookObject } from '../contract/webhooks.js';

// Organization webhooks: budget, exposure and anomaly alerts, and provider credentials refused, signed with HMAC-SHA256
// (services/webhook-signature.ts), queued in the database and sent at least once by the dispatcher
// (services/webhook-dispatcher.ts), retried for about a day (core/webhook-retries.ts).

export const WEBHOOK_EVENT_TYPES = ['budget.threshold_crossed', 'api_key.exposed', 'anomaly.detected', 'provider_credential.failed', 'provider_credential.set_aside'] as const;

/** The body of POST /webhooks. */
export const CreateWebhookBody = z.strictObject({
  url: text({ max: 2048 })
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
    .superRefine((url, ctx) => {
      const problem = requestUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  event_types: z.array(z.enum([...WEBHOOK_EVENT_TYPES, '*'])).min(1).optional(),
});

export type CreateWebhookBody = z.output<typeof CreateWebhookBody>;

type Row = { id: string; url: string; event_types: string; redacted_secret: string; created_at: number };
const toObject = (r: Row): WebhookObject => ({
  object: 'webhook_endpoint',
  id: r.id,
  url: r.url,
  event_types: JSON.parse(r.event_types),
  redacted_secret: r.redacted_secret,
  created_at: r.created_at,
});

export { signWebhook } from './webhook-signature.js';

/** What a use case that raises events needs of Webhooks. */
export type WebhookEmitter = Pick<Webhooks, 'emit' | 'kick'>;

export class Webhooks {
  private readonly dispatcher: WebhookDispatcher;

  constructor(
    private readonly deps: ServiceDeps,
    /** Signing secrets' cipher: each sealed bound to its endpoint's id (infra/aes-gcm-cipher.ts). */
    private readonly cipher: SecretCipher,
    opts: WebhookDeliveryOptions = { backoffMs: WEBHOOK_RETRY_SCHEDULE_MS, timeoutMs: 10_000 },
  ) {
    this.dispatcher = new WebhookDispatcher(deps, cipher, opts);
  }

  /** Deliveries by outcome since start: delivered (2xx), failed (given up), retried (an attempt that failed and is tried again). */
  get stats(): Readonly<WebhookDispatcher['stats']> {
    return this.dispatcher.stats;
  }

  /** Creates an endpoint; the signing secret is in the answer this once. */
  async create(orgId: string, body: CreateWebhookBody, actor: Actor): Promise<CreatedWebhook> {
    const id = newId('wh_', this.deps.randomBytes);
    const secret = `whsec_${randomBase62(40, this.deps.randomBytes)}`;
    const row = {
      id,
      org_id: orgId,
      url: body.url,
      event_types: JSON.stringify(body.event_types ?? ['*']),
      secret_encrypted: this.cipher.seal(secret, webhookSecretContext(id)),
      redacted_secret: `whsec_…${secret.slice(-4)}`,
      created_at: nowSeconds(this.deps),
      deleted_at: null,
    };
    await asActingOwner(this.deps, actor, async (trx) => {
      await trx.insertInto('webhooks').values(row).execute();
      // The URL's origin only: the rest is often the credential that lets anyone post to it, and the entry outlives it.
      const data = { url: urlOrigin(body.url), event_types: body.event_types ?? ['*'] };
      await writeAudit(trx, this.deps, { orgId, type: 'webhook.created', actor, objectId: id, details: { data } });
    });
    return { ...toObject(row), secret };
  }

  async list(orgId: string, page: PageQuery): Promise<ListPage<WebhookObject>> {
    const { limit, after } = page;
    let q = this.deps.database.db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
    const from = await afterSeq(this.deps.database.db, 'webhooks', after, 'webhook');
    if (from !== null) q = q.where('seq', '>', from);
    return toPage((await q.orderBy('seq').limit(limit + 1).execute()).map(toObject), limit);
  }

  async delete(orgId: string, id: string, actor: Actor) {
    const row = await this.deps.database.db.selectFrom('webhooks').select('id').where('id', '=', id).where('org_id', '=', orgId).where('deleted_at', 'is', null).executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No webhook found with id '${id}'.`, 'webhook_id');
    await asActingOwner(this.deps, actor, async (trx) => {
      // Deleted by another request since the check above: a 404 as a second DELETE gets, and that one wrote the entry.
      // Its URL (often the credential that lets anyone post to it: a secret path, a token) is kept only by its origin
      // once the endpoint is gone: nothing is sent to a deleted endpoint (found by review: the row kept it whole).
      const current = await trx.selectFrom('webhooks').select('url').where('id', '=', id).where('org_id', '=', orgId).where('deleted_at', 'is', null).executeTakeFirst();
      const res = await trx
        .updateTable('webhooks')
        .set({ deleted_at: nowSeconds(this.deps), url: urlOrigin(current?.url ?? '') ?? '' })
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new TollgateError('not_found', `No webhook found with id '${id}'.`, 'webhook_id');
      await writeAudit(trx, this.deps, { orgId, type: 'webhook.deleted', actor, objectId: id });
    });
    return { object: 'webhook_endpoint.deleted' as const, id, deleted: true as const };
  }

  /**
   * Queues an event for every endpoint of the organization subscribed to it: one delivery row each, written with `db`
   * (the caller's transaction, when the event tells of a change it writes: the event is owed exactly when the change
   * is made). The dispatcher sends it, at least once; the caller kicks it after its commit.
   */
  async emit(orgId: string, type: string, data: Record<string, unknown>, db: Executor = this.deps.database.db): Promise<void> {
    const rows = await db.selectFrom('webhooks').select(['id', 'event_types']).where('org_id', '=', orgId).where('deleted_at', 'is', null).execute();
    const event = { id: `evt_${randomUUID()}`, object: 'event', type, created_at: nowSeconds(this.deps), data };
    const body = JSON.stringify(event);
    const subscribed = rows.filter((r) => {
      const types: string[] = JSON.parse(r.event_types);
      return types.includes('*') || types.includes(type);
    });
    if (subscribed.length === 0) return;
    await db
      .insertInto('webhook_deliveries')
      .values(subscribed.map((r) => ({ event_id: event.id, webhook_id: r.id, type, body, status: 'pending' as const, next_attempt_at_ms: this.deps.clock(), created_at: event.created_at })))
      .execute();
    if (!db.isTransaction) this.kick();
  }

  /** A delivery pass soon: after an emit's transaction committed (a pass before it would not see its rows). */
  kick(): void {
    this.dispatcher.kick();
  }

  /** Starts sending the deliveries held in the database (the composition root's; the CLI's in-process mode does not). */
  start(): void {
    this.dispatcher.start();
  }

  /** Stops sending: attempts under way are cut and stay due. */
  stop(): Promise<void> {
    return this.dispatcher.stop();
  }

  /** Delivery passes now, awaiting the attempts they start (tests, and a caller that must not wait for the next). */
  runOnce(): Promise<number> {
    return this.dispatcher.runOnce();
  }
}
