import { request } from 'undici';
import { nextWebhookAttemptAt } from '../core/webhook-retries.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import type { SecretCipher } from '../core/ports.js';
import { webhookSecretContext } from './sealed-secrets.js';
import { signWebhook } from './webhook-signature.js';

export interface WebhookDeliveryOptions {
  /** The waits after each failed attempt (core/webhook-retries.ts); a failure past the last gives the delivery up. */
  backoffMs: readonly number[];
  /** Each attempt's whole time, from connecting to its answer's status (the most of its body read is bounded too). */
  timeoutMs: number;
  /** Told of a delivery given up, or of a pass that failed (never a secret: event id, endpoint id, host). */
  onError?: (msg: string) => void;
  /** Time between two looks for deliveries due (default 1 s); an emit on this instance looks at once. */
  pollMs?: number;
  /** How long a claimed delivery is this instance's before another may take it (default 3 × timeoutMs, at least 1 min). */
  leaseMs?: number;
  /** Deliveries claimed at once (default 25). */
  batchSize?: number;
  /** Attempts under way at once on this instance (default 16). */
  concurrency?: number;
  /** Attempts under way at once to one endpoint on this instance (default 4), so that one slow endpoint cannot take every slot. */
  perEndpoint?: number;
  /** How long delivered and given-up rows are kept before they are pruned (default 7 days). */
  keepMs?: number;
}

type Claimed = { seq: number; event_id: string; webhook_id: string; type: string; body: string; attempts: number; lease_id: string | null };
type Pass = { started: Array<Promise<void>>; full: boolean };
type Endpoint = { id: string; url: string; secret_encrypted: string; deleted_at: number | null };

const PRUNE_EVERY_MS = 600_000;
/** The most of an answer's body read (to reuse the connection); its status alone decides, the rest is cut. */
const ANSWER_READ_LIMIT = 16 * 1024;
const PRUNE_BATCH = 1000;
const DAY_MS = 86_400_000;

/**
 * Sends the webhook deliveries the database holds (webhook_deliveries, written by Webhooks.emit), at least once each:
 * a pass claims the rows due with a lease (an UPDATE of rows whose lease ran out, RETURNING them; SKIP LOCKED on
 * PostgreSQL), so that instances sharing a database never send one delivery at the same time, posts each, and marks
 * it delivered on a 2xx, else schedules its next attempt or gives it up. An instance that dies mid-attempt leaves a
 * lease that runs out: the delivery is sent again (receivers dedupe by x-tollgate-delivery). Time comes from the
 * injected clock; the timer is unref'd.
 *
 * Attempts run on their own, never awaited by a pass: an endpoint that answers slowly, or trickles its answer, held a
 * pass (and so every later delivery to every endpoint) for as long as it liked (found by a review). Each attempt has
 * one deadline (timeoutMs, well under the lease) and its status decides; at most `concurrency` run at once, at most
 * `perEndpoint` to one endpoint, and a delivery under way here is never claimed again here, even past its lease.
 */
export class WebhookDispatcher {
  readonly stats = { delivered: 0, failed: 0, retried: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Pass> | null = null;
  /** Attempts under way on this instance, by delivery seq, and how many to each endpoint. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly perEndpointInFlight = new Map<string, number>();
  private again = false;
  private started = false;
  private stopped = false;
  private abort = new AbortController();
  /** SQLite has one server per data dir: the leases a stopped or crashed run left are its own, released at start. */
  private releaseLeases = false;
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: ServiceDeps,
    /** Webhook signing secrets' cipher (bound to their endpoint). */
    private readonly cipher: SecretCipher,
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

  /** A pass soon (after the one under way, if any), its attempts left to run; nothing unless started. */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.onePass().catch((err) => this.opts.onError?.(`webhook deliveries pass failed; retried at the next (${String(err)})`));
  }

  /**
   * Passes after the one under way until every delivery due now was attempted (or only slots held by attempts it did
   * not start are left), awaiting the attempts they started; how many they attempted. For tests and callers that wait: the
   * timer's passes await no attempt.
   */
  async runOnce(): Promise<number> {
    let attempted = 0;
    for (;;) {
      const { started, full } = await this.onePass();
      attempted += started.length;
      await Promise.all(started);
      if (!full || started.length === 0 || this.stopped) return attempted;
    }
  }

  /** Stops the passes; attempts under way are cut and left due (their rows pending, unleased), then it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
    while (this.running) await this.running.catch(() => {});
    await Promise.all(this.inFlight.values());
  }

  /** One pass, after the one under way (passes claim one at a time; their attempts run on). */
  private async onePass(): Promise<Pass> {
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

  /** Claims what is due while slots are free and starts an attempt for each; the attempts started, and whether it stopped for want of a slot. */
  private async pass(): Promise<Pass> {
    const db = this.deps.database.db;
    if (this.releaseLeases) {
      await db.updateTable('webhook_deliveries').set({ leased_until_ms: 0, lease_id: null }).where('status', '=', 'pending').where('leased_until_ms', '>', 0).execute();
      this.releaseLeases = false;
    }
    const batch = this.opts.batchSize ?? 25;
    const concurrency = this.opts.concurrency ?? 16;
    const perEndpoint = this.opts.perEndpoint ?? 4;
    const started: Array<Promise<void>> = [];
    let full = false;
    while (!this.stopped) {
      const room = concurrency - this.inFlight.size;
      if (room <= 0) {
        full = true;
        break;
      }
      const want = Math.min(batch, room);
      const busy = [...this.perEndpointInFlight].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
      const claimed = await this.claim(this.deps.clock(), want, busy);
      if (claimed.length === 0) break;
      const ids = [...new Set(claimed.map((d) => d.webhook_id))];
      const endpoints = await db.selectFrom('webhooks').select(['id', 'url', 'secret_encrypted', 'deleted_at']).where('id', 'in', ids).execute();
      const byId = new Map(endpoints.map((e) => [e.id, e]));
      const excess: Claimed[] = [];
      for (const d of claimed) {
        if (this.stopped || (this.perEndpointInFlight.get(d.webhook_id) ?? 0) >= perEndpoint) excess.push(d);
        else started.push(this.launch(d, byId.get(d.webhook_id)));
      }
      // Claimed beyond an endpoint's share: due again at once, for a slot of this instance or another's.
      if (excess.length > 0) {
        full = true;
        await this.release(excess);
      }
      if (claimed.length < want) break;
    }
    await this.prune();
    return { started, full };
  }

  /** Starts an attempt that runs on its own; a slot freed looks for more due. */
  private launch(d: Claimed, endpoint: Endpoint | undefined): Promise<void> {
    this.perEndpointInFlight.set(d.webhook_id, (this.perEndpointInFlight.get(d.webhook_id) ?? 0) + 1);
    const done = this.attempt(d, endpoint)
      .catch((err) => this.opts.onError?.(`webhook ${d.event_id} to ${d.webhook_id}: recording the attempt failed; sent again once its lease runs out (${String(err)})`))
      .finally(() => {
        this.inFlight.delete(d.seq);
        const n = (this.perEndpointInFlight.get(d.webhook_id) ?? 1) - 1;
        if (n > 0) this.perEndpointInFlight.set(d.webhook_id, n);
        else this.perEndpointInFlight.delete(d.webhook_id);
        this.kick();
      });
    this.inFlight.set(d.seq, done);
    return done;
  }

  /** Gives claimed deliveries back unattempted: due again at once. */
  private async release(ds: readonly Claimed[]): Promise<void> {
    const db = this.deps.database.db;
    for (const d of ds) await db.updateTable('webhook_deliveries').set({ leased_until_ms: 0, lease_id: null }).where('seq', '=', d.seq).where('lease_id', '=', d.lease_id).execute();
  }

  /**
   * Takes up to `batch` deliveries due whose lease ran out: this instance's for leaseMs. Never one under way here (its
   * lease may have run out by the injected clock, its attempt not), nor one to an endpoint in `busy` (its share taken).
   */
  private claim(now: number, batch: number, busy: readonly string[]): Promise<Claimed[]> {
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
    const underWay = [...this.inFlight.keys()];
    if (underWay.length > 0) due = due.where('seq', 'not in', underWay);
    if (busy.length > 0) due = due.where('webhook_id', 'not in', busy);
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
      secret = this.cipher.open(endpoint.secret_encrypted, webhookSecretContext(endpoint.id));
    } catch {
      // Sealed under another TOLLGATE_SECRET (docs/providers.md), or another endpoint's moved onto its row, or altered:
      // this endpoint is skipped and named for the operator, never the others (an unreadable first endpoint stopped
      // every delivery of the event).
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

  /**
   * Posts the delivery: null on a 2xx, else why not (`HTTP 503`, `timed out`, an error code), or 'stopped' when stop()
   * cut it. One deadline for the whole attempt; the status decides, and at most ANSWER_READ_LIMIT of the body is read
   * before it (a body that never ends, trickled a byte at a time, once kept the attempt alive for ever).
   */
  private async send(url: string, d: Claimed, secret: string): Promise<string | null | 'stopped'> {
    const deadline = AbortSignal.timeout(this.opts.timeoutMs);
    const signal = AbortSignal.any([this.abort.signal, deadline]);
    let status: number;
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
        signal,
      });
      status = res.statusCode;
      // Read to reuse the connection, up to the limit and the deadline; a body longer or slower is cut, not waited for.
      await res.body.dump({ limit: ANSWER_READ_LIMIT, signal }).catch(() => {});
    } catch (err) {
      if (this.abort.signal.aborted) return 'stopped';
      if (deadline.aborted) return 'timed out';
      return ((err as { code?: string }).code ?? String(err)).slice(0, 200);
    }
    return status >= 200 && status < 300 ? null : `HTTP ${status}`;
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
