import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { z } from 'zod';
import { randomBase62 } from '../core/base62.js';
import { TollgateError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { requestUrlProblem } from '../core/provider-url.js';
import { writeAudit } from './audit.js';
import { asActingOwner } from './acting-owner.js';
import type { Actor, ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { afterSeq, type ListPage, type PageQuery, toPage } from './pagination.js';
import { open, seal } from './secret-box.js';
import { text } from './text-fields.js';
import type { CreatedWebhook, WebhookObject } from '../contract/webhooks.js';

export type { WebhookObject } from '../contract/webhooks.js';

// Organization webhooks: budget, exposure and anomaly alerts, and provider credentials refused, signed with HMAC-SHA256 and retried with back-off.
// Signature header (Stripe-style): `x-tollgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

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

/** The signature header value for a body. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Webhooks {
  readonly stats = { delivered: 0, failed: 0, retried: 0 };

  constructor(
    private readonly deps: ServiceDeps,
    private readonly serverSecret: string,
    private readonly opts: { backoffMs: number[]; timeoutMs: number; onError?: (msg: string) => void } = {
      backoffMs: [1000, 4000, 16_000, 60_000],
      timeoutMs: 10_000,
    },
  ) {}

  /** Creates an endpoint; the signing secret is in the answer this once. */
  async create(orgId: string, body: CreateWebhookBody, actor: Actor): Promise<CreatedWebhook> {
    const id = newId('wh_', this.deps.randomBytes);
    const secret = `whsec_${randomBase62(40, this.deps.randomBytes)}`;
    const row = {
      id,
      org_id: orgId,
      url: body.url,
      event_types: JSON.stringify(body.event_types ?? ['*']),
      secret_encrypted: seal(this.serverSecret, secret),
      redacted_secret: `whsec_…${secret.slice(-4)}`,
      created_at: nowSeconds(this.deps),
      deleted_at: null,
    };
    await asActingOwner(this.deps, actor, async (trx) => {
      await trx.insertInto('webhooks').values(row).execute();
      await writeAudit(trx, this.deps, { orgId, type: 'webhook.created', actor, objectId: id, details: { data: { url: body.url, event_types: body.event_types ?? ['*'] } } });
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
      const res = await trx.updateTable('webhooks').set({ deleted_at: nowSeconds(this.deps) }).where('id', '=', id).where('org_id', '=', orgId).where('deleted_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new TollgateError('not_found', `No webhook found with id '${id}'.`, 'webhook_id');
      await writeAudit(trx, this.deps, { orgId, type: 'webhook.deleted', actor, objectId: id });
    });
    return { object: 'webhook_endpoint.deleted' as const, id, deleted: true as const };
  }

  /** Sends an event to every endpoint of the organization subscribed to it (asynchronously, with retries). */
  async emit(orgId: string, type: string, data: Record<string, unknown>): Promise<void> {
    const rows = await this.deps.database.db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null).execute();
    const event = { id: `evt_${randomUUID()}`, object: 'event', type, created_at: nowSeconds(this.deps), data };
    const body = JSON.stringify(event);
    for (const r of rows) {
      const types: string[] = JSON.parse(r.event_types);
      if (!types.includes('*') && !types.includes(type)) continue;
      let secret: string;
      try {
        secret = open(this.serverSecret, r.secret_encrypted);
      } catch {
        // Sealed under another TOLLGATE_SECRET (docs/providers.md): this endpoint is skipped and named for the
        // operator, never the ones after it (an unreadable first endpoint stopped every delivery of the event).
        this.stats.failed++;
        this.opts.onError?.(`webhook ${event.id} not sent to ${r.id}: its signing secret cannot be decrypted with this server's TOLLGATE_SECRET (create the endpoint again)`);
        continue;
      }
      void this.deliver(r.id, r.url, body, secret, type, event.id, 0);
    }
  }

  private async deliver(endpointId: string, url: string, body: string, secret: string, type: string, eventId: string, attempt: number): Promise<void> {
    let ok = false;
    let why = '';
    try {
      // A retry goes only to an endpoint still there: one deleted meanwhile (its URL wrong, or leaked) got the retries
      // of events already under way for a minute more (found by an outside review).
      if (attempt > 0 && !(await this.stillThere(endpointId))) {
        this.stats.failed++;
        return;
      }
      const t = nowSeconds(this.deps);
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Tollgate-Webhooks/1', 'x-tollgate-event': type, 'x-tollgate-delivery': eventId, 'x-tollgate-signature': signWebhook(secret, body, t) },
        body,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 300;
      why = `HTTP ${res.statusCode}`;
    } catch (err) {
      why = (err as { code?: string }).code ?? String(err);
    }
    if (ok) {
      this.stats.delivered++;
      return;
    }
    const wait = this.opts.backoffMs[attempt];
    if (wait === undefined) {
      this.stats.failed++;
      this.opts.onError?.(`webhook ${eventId} to ${new URL(url).host} failed after ${attempt + 1} attempts (${why})`);
      return;
    }
    this.stats.retried++;
    setTimeout(() => void this.deliver(endpointId, url, body, secret, type, eventId, attempt + 1), wait).unref();
  }

  private async stillThere(endpointId: string): Promise<boolean> {
    const row = await this.deps.database.db.selectFrom('webhooks').select('id').where('id', '=', endpointId).where('deleted_at', 'is', null).executeTakeFirst();
    return row !== undefined;
  }
}
