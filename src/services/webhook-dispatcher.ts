import { request } from 'undici';
import { nextWebhookAttemptAt } from '../core/webhook-retries.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { open } from './secret-box.js';
import { signWebhook } from './webhook-signature.js';

export interface WebhookDeliveryOptions {
  /** The waits after each failed attempt (core/webhook-retries.ts); a failure past the last gives the delivery up. */
  backoffMs: readonly number[];
  /** Each attempt's wait for the answer's headers, then for its body. */
  timeoutMs: number;
  /** Told of a delivery given up, or of a pass that failed (never a secret: event id, endpoint id, host). */
  onError?: (msg: string) => void;
  /** Time between two looks for deliveries due (default 1 s); an emit on this instance looks at once. */
  pollMs?: number;
  /** How long a claimed delivery is this instance's before another may take it (default 3 × timeoutMs, at least 1 min). */
  leaseMs?: number;
  /** Deliveries claimed at once (default 25). */
  batchSize?: number;
  /** How long delivered and given-up rows are kept before they are pruned (default 7 days). */
  keepMs?: number;
}

type Claimed = { seq: number; event_id: string; webhook_id: string; type: string; body: string; attempts: number; lease_id: string | null };
type Endpoint = { id: string; url: string; secret_encrypted: string; deleted_at: number | null };

const PRUNE_EVERY_MS = 600_000;
const PRUNE_BATCH = 1000;
const DAY_MS = 86_400_000;

/**
 * Sends the webhook deliveries the database holds (webhook_deliveries, written by Webhooks.emit), at least once each:
 * a pass claims the rows due with a lease (an UPDATE of rows whose lease ran out, RETURNING them; SKIP LOCKED on
 * PostgreSQL), so that instances sharing a database never send one delivery at the same time, posts each, and marks
 * it delivered on a 2xx, else schedules its next attempt or gives it up. An instance that dies mid-attempt leaves a
 * lease that runs out: the delivery is sent again (receivers dedupe by x-tollgate-delivery). Time comes from the
 * injected clock; the timer is unref'd.
 */
export class WebhookDispatcher {
  readonly stats = { delivered: 0, failed: 0, retried: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private abort = new AbortController();
  /** SQLite has one server per data dir: the leases a stopped or crashed run left are its own, released at start. */
  private releaseLeases = false;
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly serverSecret: string,
    private readonly opts: WebhookDeliveryOptions,
  ) {}

  /** Starts the passes: one now (what an earlier run left), then one every pollMs. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    this.abort = new AbortController();
    this.releaseLeases = this.deps.database.dialect === 'sqlite';
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /** A pass soon (after the one under way, if any); nothing unless started. */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.runOnce().catch((err) => this.opts.onError?.(`webhook deliveries pass failed; retried at the next (${String(err)})`));
  }

  /** One pass, after the one under way: sends every delivery due now; how many it attempted. */
  async runOnce(): Promise<number> {
    while (this.running) await this.running.catch(() => {});
    const pass = this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
    this.running = pass;
    return pass;
  }

  /** Stops the passes; attempts under way are cut and left due (their rows pending, unleased), then it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
    while (this.running) await this.running.catch(() => {});
  }

  private async pass(): Promise<number> {
    const db = this.deps.database.db;
    if (this.releaseLeases) {
      await db.updateTable('webhook_deliveries').set({ leased_until_ms: 0, lease_id: null }).where('status', '=', 'pending').where('leased_until_ms', '>', 0).execute();
      this.releaseLeases = false;
    }
    const batch = this.opts.batchSize ?? 25;
    let attempted = 0;
    while (!this.stopped) {
      const claimed = await this.claim(this.deps.clock(), batch);
      if (claimed.length === 0) break;
      const ids = [...new Set(claimed.map((d) => d.webhook_id))];
      const endpoints = await db.selectFrom('webhooks').select(['id', 'url', 'secret_encrypted', 'deleted_at']).where('id', 'in', ids).execute();
      const byId = new Map(endpoints.map((e) => [e.id, e]));
      await Promise.all(claimed.map((d) => this.attempt(d, byId.get(d.webhook_id)).catch((err) => this.opts.onError?.(`webhook ${d.event_id} to ${d.webhook_id}: recording the attempt failed; sent again once its lease runs out (${String(err)})`))));
      attempted += claimed.length;
      if (claimed.length < batch) break;
    }
    await this.prune();
    return attempted;
  }

  /** Takes up to `batch` deliveries due whose lease ran out: this instance's for leaseMs. */
  private claim(now: number, batch: number): Promise<Claimed[]> {
    const db = this.deps.database.db;
    const leaseMs = this.opts.leaseMs ?? Math.max(60_000, 3 * this.opts.timeoutMs);
    const leaseId = Buffer.from(this.deps.randomBytes(12)).toString('hex');
    let due = db
      .selectFrom('webhook_deliveries')
      .select('seq')
      .where('status', '=', 'pending')
      .where('next_attempt_at_ms', '<=', now)
      .where('leased_until_ms', '<=', now)
      .orderBy('next_attempt_at_ms')
      .limit(batch);
    // Rows another instance is claiming are skipped rather than waited for; the outer conditions, checked again on
    // the row as it is updated, keep a row claimed meanwhile out in any case.
    if (this.deps.database.dialect === 'postgres') due = due.forUpdate().skipLocked();
    return db
      .updateTable('webhook_deliveries')
      .set({ leased_until_ms: now + leaseMs, lease_id: leaseId })
      .where('seq', 'in', due)
      .where('status', '=', 'pending')
      .where('leased_until_ms', '<=', now)
      .returning(['seq', 'event_id', 'webhook_id', 'type', 'body', 'attempts', 'lease_id'])
      .execute();
  }

  private async attempt(d: Claimed, endpoint: Endpoint | undefined): Promise<void> {
    // An endpoint deleted meanwhile (its URL wrong, or leaked) gets nothing more.
    if (!endpoint || endpoint.deleted_at !== null) {
      this.stats.failed++;
      await this.finish(d, 'failed', d.attempts, 'endpoint deleted');
      return;
    }
    let secret: string;
    try {
      secret = open(this.serverSecret, endpoint.secret_encrypted);
    } catch {
      // Sealed under another TOLLGATE_SECRET (docs/providers.md): this endpoint is skipped and named for the operator,
      // never the others (an unreadable first endpoint stopped every delivery of the event).
      this.stats.failed++;
      this.opts.onError?.(`webhook ${d.event_id} not sent to ${d.webhook_id}: its signing secret cannot be decrypted with this server's TOLLGATE_SECRET (create the endpoint again)`);
      await this.finish(d, 'failed', d.attempts, 'signing secret cannot be decrypted');
      return;
    }
    const sent = await this.send(endpoint.url, d, secret);
    if (sent === 'stopped') {
      // Cut by stop(): due again at once, for the next start or another instance.
      await this.deps.database.db.updateTable('webhook_deliveries').set({ leased_until_ms: 0, lease_id: null }).where('seq', '=', d.seq).where('lease_id', '=', d.lease_id).execute();
      return;
    }
    const attempts = d.attempts + 1;
    if (sent === null) {
      this.stats.delivered++;
      await this.finish(d, 'delivered', attempts, null);
      return;
    }
    const next = nextWebhookAttemptAt(this.opts.backoffMs, attempts, this.deps.clock());
    if (next === null) {
      this.stats.failed++;
      this.opts.onError?.(`webhook ${d.event_id} to ${new URL(endpoint.url).host} failed after ${attempts} attempts (${sent})`);
      await this.finish(d, 'failed', attempts, sent);
      return;
    }
    this.stats.retried++;
    await this.deps.database.db
      .updateTable('webhook_deliveries')
      .set({ attempts, next_attempt_at_ms: next, leased_until_ms: 0, lease_id: null, last_error: sent })
      .where('seq', '=', d.seq)
      .where('lease_id', '=', d.lease_id)
      .execute();
  }

  /** Posts the delivery: null on a 2xx, else why not (`HTTP 503`, an error code), or 'stopped' when stop() cut it. */
  private async send(url: string, d: Claimed, secret: string): Promise<string | null | 'stopped'> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tollgate-Webhooks/1',
          'x-tollgate-event': d.type,
          'x-tollgate-delivery': d.event_id,
          // Signed at each attempt: a receiver may refuse a signature older than a few minutes, as Stripe's do.
          'x-tollgate-signature': signWebhook(secret, d.body, nowSeconds(this.deps)),
        },
        body: d.body,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: this.abort.signal,
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`;
    } catch (err) {
      if (this.abort.signal.aborted) return 'stopped';
      return ((err as { code?: string }).code ?? String(err)).slice(0, 200);
    }
  }

  private async finish(d: Claimed, status: 'delivered' | 'failed', attempts: number, why: string | null): Promise<void> {
    await this.deps.database.db
      .updateTable('webhook_deliveries')
      .set({ status, attempts, finished_at: nowSeconds(this.deps), leased_until_ms: 0, lease_id: null, last_error: why })
      .where('seq', '=', d.seq)
      .where('lease_id', '=', d.lease_id)
      .execute();
  }

  /** Deletes delivered and given-up rows older than keepMs, every ten minutes at most. */
  private async prune(): Promise<void> {
    const now = this.deps.clock();
    if (now - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = now;
    const before = Math.floor((now - (this.opts.keepMs ?? 7 * DAY_MS)) / 1000);
    const db = this.deps.database.db;
    while (!this.stopped) {
      const old = db.selectFrom('webhook_deliveries').select('seq').where('status', '!=', 'pending').where('finished_at', '<', before).limit(PRUNE_BATCH);
      const res = await db.deleteFrom('webhook_deliveries').where('seq', 'in', old).executeTakeFirst();
      if (Number(res.numDeletedRows) < PRUNE_BATCH) break;
    }
  }
}
