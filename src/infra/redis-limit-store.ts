import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { GcraDecision } from '../core/gcra.js';
import { EPOCH_SUFFIX, LEASE_MARK, LEASE_RENEW_MS, LEASE_TTL_MS, LEASES, leasedEpoch, REGISTER, RESERVED_SUFFIX, SWEEP } from './redis-leases.js';
import { type AcquireOutcome, type CounterAdjust, type CounterCheck, type LimitStore, type RateAdjust, type RateCheck, type SettledCounters, UnansweredAcquire } from '../core/limit-store.js';

// The shared limit store: one Lua script decides every limit of a request atomically (all charged or none). Same
// GCRA as core/gcra.ts, on the caller's injected clock (one clock everywhere: a test that pins a date gets the same
// decisions on Redis as in process; instances are expected to keep NTP time, and a skew of s between two of them
// moves a bucket by at most s).

/**
 * Settles are numbered per instance, their marks kept in keys of SETTLE_MARK_BITS bits each (a 128 KB string at most),
 * each kept for MARK_TTL_SEC after its last settle: long past any retry (they back off to 30 s).
 */
const SETTLE_MARK_BITS = 1 << 20;
const MARK_TTL_SEC = 3600;
/**
 * Acquires are numbered per instance too, two bits each (charged, cancelled) in keys of ACQUIRE_MARKS acquires (128 KB
 * at most), kept MARK_TTL_SEC after their last use. Setting them is the only write an acquire adds: an acquire the guard
 * gave up on is cancelled by number (CANCEL), whatever order Redis runs the two in, and a whole key of a per-request
 * receipt would cost far more memory.
 */
const ACQUIRE_MARKS = 1 << 19;

const ACQUIRE = `
local now = tonumber(ARGV[1])
local nr = tonumber(ARGV[2])
local nc = tonumber(ARGV[3])
-- The counters' nk keys, then as many of their reservations in flight (see RESERVED_SUFFIX), one for each.
local nk = tonumber(ARGV[4])
-- The last key is this instance's acquire marks, the last argument this acquire's pair of bits in it (see ACQUIRE_MARKS):
-- an acquire cancelled already, or run already (sent again after a reconnect), charges nothing.
local marks = KEYS[#KEYS]
local bit = tonumber(ARGV[#ARGV])
if redis.call('BITFIELD', marks, 'GET', 'u2', bit)[1] ~= 0 then return { 3, now } end
-- Before it, the instance's lease and the hash of what it holds in flight (see LEASES): a lease lapsed may have been
-- given back already, so nothing is charged under it; the instance takes a new one and asks again.
local held = KEYS[#KEYS - 1]
if redis.call('EXISTS', KEYS[#KEYS - 2]) == 0 then return { 4, now } end
-- Before those, the last nc keys are the charged counters' epochs (see EPOCH_SUFFIX).
local ne = #KEYS - 3 - nc
local missing = {}
for x = nr + 1, nr + nk do
  if redis.call('EXISTS', KEYS[x]) == 0 then missing[#missing+1] = KEYS[x] end
end
local out = {}
local ok = 1
local tats = {}
local standing = {}
local keep = {}
local a = 5
for i = 1, nr do
  local limit = tonumber(ARGV[a]); local period = tonumber(ARGV[a+1]); local cost = tonumber(ARGV[a+2]); local seedable = ARGV[a+3] == '1'; a = a + 4
  local held = redis.call('GET', KEYS[i])
  -- A seedable bucket Redis does not hold (lost, or unused for a whole period) is rebuilt from stored usage first.
  if not held and seedable then missing[#missing+1] = KEYS[i] end
  local tat = tonumber(held or '0')
  keep[i] = seedable and period or 0
  local interval = period / limit
  local base = math.max(tat, now)
  local newtat = base + cost * interval
  local allowat = newtat - period
  if cost > limit or allowat > now then
    ok = 0
    local used = (base - now) / interval
    local retry = -1
    if cost <= limit then retry = math.ceil(allowat - now) end
    out[#out+1] = 0; out[#out+1] = math.max(0, math.floor(limit - used)); out[#out+1] = math.max(0, base - now); out[#out+1] = retry
    tats[i] = false
  else
    out[#out+1] = 1; out[#out+1] = math.max(0, math.floor((period - (newtat - now)) / interval + 1e-9)); out[#out+1] = math.max(0, newtat - now); out[#out+1] = 0
    tats[i] = newtat
    -- The bucket as it stands, reported instead if another check refuses (core/gcra.ts gcraStanding).
    standing[i] = { math.max(0, math.floor((period - (base - now)) / interval + 1e-9)), math.max(0, base - now) }
  end
end
if #missing > 0 then return { 2, now, missing } end
local k = nr + 1
local charge = {}
for j = 1, nc do
  local nkeys = tonumber(ARGV[a]); local cap = tonumber(ARGV[a+1]); local amountStr = ARGV[a+2]; local amount = tonumber(amountStr); local ttl = tonumber(ARGV[a+3]); local reserves = ARGV[a+4] == '1'; a = a + 5
  local sum = 0
  for x = 0, nkeys - 1 do sum = sum + tonumber(redis.call('GET', KEYS[k + x]) or '0') end
  -- A refusal tells what of the sum requests in flight reserved (their settles may make room): read only then.
  local inflight = -1
  if sum + amount > cap then
    ok = 0; out[#out+1] = 0
    inflight = 0
    for x = 0, nkeys - 1 do inflight = inflight + tonumber(redis.call('GET', KEYS[k + nk + x]) or '0') end
  else out[#out+1] = 1 end
  out[#out+1] = sum
  out[#out+1] = inflight
  -- INCRBY takes the decimal string: tostring() of a large Lua number would be in exponent form.
  charge[j] = { KEYS[k], amountStr, ttl, reserves and KEYS[k + nk] or false }
  k = k + nkeys
end
local epochs = {}
if ok == 0 then
  for i = 1, nr do
    if tats[i] then out[4 * i - 2] = standing[i][1]; out[4 * i - 1] = standing[i][2] end
  end
end
if ok == 1 then
  redis.call('SETBIT', marks, bit, 1)
  redis.call('EXPIRE', marks, ${MARK_TTL_SEC})
  for i = 1, nr do redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil(math.max(tats[i] - now, keep[i])) + 1000) end
  for j = 1, nc do
    local c = charge[j]
    redis.call('INCRBY', c[1], c[2])
    if c[4] and c[2] ~= '0' then
      redis.call('INCRBY', c[4], c[2])
      if c[3] > 0 then redis.call('EXPIRE', c[4], c[3]) end
    end
    if c[3] > 0 then redis.call('EXPIRE', c[1], c[3]); redis.call('EXPIRE', KEYS[ne + j], c[3]) end
    epochs[j] = redis.call('GET', KEYS[ne + j]) or ''
    if c[4] and c[2] ~= '0' then redis.call('HINCRBY', held, epochs[j] .. '|' .. c[1], c[2]) end
  end
end
return { ok, now, out, epochs }
`;

const ADJUST = `
-- Applied once: the last key is this instance's settle marks (a bit per settle, by its number), the last argument the
-- settle's bit. A settle sent again after its reply was lost (a Redis that hung, then ran what it held) is skipped.
local marks = KEYS[#KEYS]
if redis.call('SETBIT', marks, tonumber(ARGV[#ARGV]), 1) == 1 then return 0 end
redis.call('EXPIRE', marks, ${MARK_TTL_SEC})
local now = tonumber(ARGV[1])
local nr = tonumber(ARGV[2])
local nc = tonumber(ARGV[3])
local a = 4
-- A seedable bucket (keep > 0: RPD) Redis does not hold is left alone (rebuilt from stored usage), and is kept a period.
for i = 1, nr do
  local limit = tonumber(ARGV[a]); local period = tonumber(ARGV[a+1]); local delta = tonumber(ARGV[a+2]); local keep = tonumber(ARGV[a+3]); a = a + 4
  local held = redis.call('GET', KEYS[i])
  if held or keep == 0 then
    local tat = tonumber(held or tostring(now))
    local newtat = math.max(now, tat + delta * period / limit)
    redis.call('SET', KEYS[i], newtat, 'PX', math.ceil(math.max(newtat - now, keep)) + 1000)
  end
end
-- Counters, then their epochs, then their reservations in flight, then the hashes of the leases they were reserved
-- under (see LEASES), then each counter's other keys (a rolling window's other days) with theirs. A counter Redis lost,
-- or seeded again since the settled request charged it (another epoch), is left alone: it was counted again from
-- stored usage, and never held this request's reservation (nor do its reservations in flight, emptied by the seeding).
-- Answered: each counter's settled spend (what its keys hold less what is still in flight there), false for one left
-- alone.
local settled = {}
local w = nr + 4 * nc + 1
for j = 1, nc do
  local delta = ARGV[a]; local ttl = tonumber(ARGV[a+1]); local epoch = ARGV[a+2]; local release = ARGV[a+3]; local leased = ARGV[a+4] == '1'; local others = tonumber(ARGV[a+5]); a = a + 6
  local key = KEYS[nr + j]
  local reserved = KEYS[nr + 2 * nc + j]
  -- Whether the reservation is still held: a lapsed lease's were given back (SWEEP), the counter's included.
  local holds = true
  if release ~= '0' and leased then
    local held = KEYS[nr + 3 * nc + j]
    local field = epoch .. '|' .. key
    if tonumber(redis.call('HGET', held, field) or '0') >= tonumber(release) then
      if redis.call('HINCRBY', held, field, '-' .. release) <= 0 then redis.call('HDEL', held, field) end
    else holds = false end
  end
  settled[j] = false
  if redis.call('EXISTS', key) == 1 and (redis.call('GET', KEYS[nr + nc + j]) or '') == epoch then
    if delta ~= '0' then redis.call('INCRBY', key, delta) end
    if ttl > 0 then redis.call('EXPIRE', key, ttl); redis.call('EXPIRE', KEYS[nr + nc + j], ttl) end
    if holds then
      if release ~= '0' and redis.call('DECRBY', reserved, release) <= 0 then redis.call('DEL', reserved) end
    -- Given back already: what the request used is counted, its reservation not taken off again.
    else redis.call('INCRBY', key, release) end
    local spent = tonumber(redis.call('GET', key) or '0') - math.max(0, tonumber(redis.call('GET', reserved) or '0'))
    for x = 0, others - 1 do
      spent = spent + tonumber(redis.call('GET', KEYS[w + 2 * x]) or '0') - math.max(0, tonumber(redis.call('GET', KEYS[w + 2 * x + 1]) or '0'))
    end
    settled[j] = spent
  end
  w = w + 2 * others
end
return { 1, settled }
`;

const CANCEL = `
-- An acquire given up on (its answer never came): marked cancelled, so that it charges nothing if it runs later; if it
-- ran, what it charged is given back. The keys and arguments are the acquire's: its buckets, the counters it charged,
-- its marks; the last argument its pair of bits. Applied once: a cancel sent again finds the mark and does nothing.
local marks = KEYS[#KEYS]
local bit = tonumber(ARGV[#ARGV])
local m = redis.call('BITFIELD', marks, 'GET', 'u2', bit)[1]
if m % 2 == 1 then return 0 end
redis.call('SETBIT', marks, bit + 1, 1)
redis.call('EXPIRE', marks, ${MARK_TTL_SEC})
if m == 0 then return 1 end
local now = tonumber(ARGV[1])
local nr = tonumber(ARGV[2])
local a = 3
for i = 1, nr do
  local limit = tonumber(ARGV[a]); local period = tonumber(ARGV[a+1]); local cost = tonumber(ARGV[a+2]); local keep = tonumber(ARGV[a+3]); a = a + 4
  -- A bucket lost since is left lost (a seedable one is rebuilt from stored usage, which never held this request).
  local held = redis.call('GET', KEYS[i])
  if held and cost > 0 then
    local newtat = math.max(now, tonumber(held) - cost * period / limit)
    redis.call('SET', KEYS[i], newtat, 'PX', math.ceil(math.max(newtat - now, keep)) + 1000)
  end
end
-- A counter lost since is left alone, as a settle leaves it: counted again from stored usage, it never held this charge.
-- After the counters, their reservations in flight: what the acquire reserved there is released; then the hash of the
-- lease it was reserved under (see LEASES): a reservation no longer there was given back already (SWEEP).
local nc = (#KEYS - 1 - nr) / 3
for j = 1, nc do
  local back = ARGV[a]; local release = ARGV[a+1]; a = a + 2
  local key = KEYS[nr + j]
  if back ~= '0' and redis.call('EXISTS', key) == 1 then
    if release == '0' then redis.call('INCRBY', key, back)
    else
      local held = KEYS[nr + 2 * nc + j]
      local field = (redis.call('GET', key .. '${EPOCH_SUFFIX}') or '') .. '|' .. key
      if tonumber(redis.call('HGET', held, field) or '0') >= tonumber(release) then
        if redis.call('HINCRBY', held, field, '-' .. release) <= 0 then redis.call('HDEL', held, field) end
        redis.call('INCRBY', key, back)
        if redis.call('DECRBY', KEYS[nr + nc + j], release) <= 0 then redis.call('DEL', KEYS[nr + nc + j]) end
      end
    end
  end
end
return 2
`;

/** A counter and its epoch (a token set each time the counter is seeded from stored usage) set together, if absent. */
const SEED_COUNTER = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[2])
  -- A counter of a new epoch holds no request in flight (those of the last one never settle onto it).
  redis.call('DEL', KEYS[3])
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl); redis.call('EXPIRE', KEYS[2], ttl) end
end
return 1
`;

/**
 * How long a limit command may go unanswered before it counts as failed (and the fail-open or fail-closed rule
 * applies): far above a healthy Redis's round trip (well under a millisecond here), short enough for a client to wait.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/** Keys dropped by one DEL of `forget` at most. */
const FORGET_BATCH = 1000;

export class RedisLimitStore implements LimitStore {
  readonly redis: Redis;
  /** This instance's acquires and settles: numbered from 0 under a token of this start, so no two instances' marks meet. */
  private readonly instance = randomUUID();
  private acquires = 0;
  private settles = 0;
  private readonly settleNumbers = new WeakMap<object, number>();
  /** Whether the last command failed, and how many times Redis answered again after failing (or connected again). */
  private failing = false;
  private comebacks = 0;
  readonly health = { name: 'redis', ping: () => this.redis.ping() };
  /** The token of this instance's lease (see LEASES): not taken yet at first, a new one whenever the last lapsed. */
  private token = randomUUID();
  private leasing: Promise<void> | null = null;
  private readonly renewTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    url: string,
    private readonly prefix = 'tg:',
  ) {
    // No offline queue: while Redis is down, calls fail at once and the configured fail-open/closed applies. A command
    // unanswered for REDIS_COMMAND_TIMEOUT_MS fails too: a Redis that hangs (frozen, or behind a partition that keeps
    // the socket open) refused nothing, and every limited request waited for it without end (found by a review).
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
      connectTimeout: 2000,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    });
    this.redis.on('error', () => {});
    this.redis.on('ready', () => {
      this.comebacks++;
      this.tend();
    });
    this.redis.defineCommand('tgAcquire', { lua: ACQUIRE });
    this.redis.defineCommand('tgCancel', { lua: CANCEL });
    this.redis.defineCommand('tgAdjust', { lua: ADJUST });
    this.redis.defineCommand('tgSeedCounter', { lua: SEED_COUNTER });
    this.redis.defineCommand('tgSweep', { lua: SWEEP });
    this.redis.defineCommand('tgRegister', { lua: REGISTER });
    this.renewTimer = setInterval(() => this.tend(), LEASE_RENEW_MS);
    this.renewTimer.unref();
  }

  /** The key of this instance's lease (diagnostics and tests). */
  get leaseKey(): string {
    return this.leaseKeyOf(this.token);
  }

  private leaseKeyOf(token: string): string {
    return `${this.prefix}lease:${token}`;
  }

  private heldKeyOf(token: string): string {
    return `${this.prefix}held:${token}`;
  }

  /** Renews this instance's lease (a new one if it lapsed), then gives back what lapsed leases hold; failures wait for the next turn. */
  private tend(): void {
    if (this.closed || this.redis.status !== 'ready') return;
    this.renewLease()
      .then(() => this.sweep())
      .catch(() => {});
  }

  private async renewLease(): Promise<void> {
    const token = this.token;
    if ((await this.redis.pexpire(this.leaseKeyOf(token), LEASE_TTL_MS)) === 0) await this.leaseLost(token);
  }

  /**
   * Takes a new lease once lease `token` is found lapsed (a renewal, or an acquire, answered so): never the same one
   * again, since what it held may have been given back (see LEASES). Those who find it lapsed meanwhile share the taking.
   */
  private leaseLost(token: string): Promise<void> {
    if (token !== this.token) return Promise.resolve();
    this.leasing ??= (async () => {
      const next = randomUUID();
      const cmd = this.redis as unknown as { tgRegister(n: number, ...a: Array<string | number>): Promise<number> };
      await cmd.tgRegister(2, this.leaseKeyOf(next), this.prefix + LEASES, next, LEASE_TTL_MS);
      this.token = next;
    })().finally(() => {
      this.leasing = null;
    });
    return this.leasing;
  }

  /**
   * Gives back what instances whose leases lapsed held in flight (killed, or paused past their lease), once however
   * many instances sweep at once; returns how many counters it moved. Run by every instance at each renewal.
   */
  sweep(): Promise<number> {
    const cmd = this.redis as unknown as { tgSweep(n: number, ...a: string[]): Promise<number> };
    return cmd.tgSweep(1, this.prefix + LEASES, this.prefix, '');
  }

  /**
   * True once connected, with this instance's lease taken (its first request need not take it); false after
   * `timeoutMs`, or at once when a connection attempt fails (refused: no use waiting).
   */
  async connected(timeoutMs: number): Promise<boolean> {
    if (!(await this.connection(timeoutMs))) return false;
    // Taken again by the first acquire if this fails.
    await this.renewLease().catch(() => {});
    return true;
  }

  private connection(timeoutMs: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', ready);
        this.redis.off('error', failed);
        resolve(ok);
      };
      const ready = () => done(true);
      const failed = () => done(false);
      const timer = setTimeout(failed, timeoutMs);
      timer.unref();
      this.redis.on('ready', ready);
      this.redis.on('error', failed);
    });
  }

  recoveries(): number {
    return this.comebacks;
  }

  async acquire(rates: RateCheck[], counters: CounterCheck[], nowMs: number): Promise<AcquireOutcome> {
    return this.acquireOnce(rates, counters, nowMs, true, true);
  }

  /** `again`: may ask once more after an acquire found run already; `lease`: after one found this instance's lease lapsed. */
  private async acquireOnce(rates: RateCheck[], counters: CounterCheck[], nowMs: number, again: boolean, lease: boolean): Promise<AcquireOutcome> {
    const token = this.token;
    const n = this.acquires++;
    const marks = `${this.prefix}acquired:${this.instance}:${Math.floor(n / ACQUIRE_MARKS)}`;
    const bit = 2 * (n % ACQUIRE_MARKS);
    const counterKeys = counters.flatMap((c) => c.keys.map((k) => this.prefix + k));
    const keys = [
      ...rates.map((r) => this.prefix + r.key),
      ...counterKeys,
      ...counterKeys.map((k) => k + RESERVED_SUFFIX),
      ...counters.map((c) => this.prefix + c.keys[0] + EPOCH_SUFFIX),
      this.leaseKeyOf(token),
      this.heldKeyOf(token),
      marks,
    ];
    const args: Array<string | number> = [Math.floor(nowMs), rates.length, counters.length, counterKeys.length];
    for (const r of rates) args.push(r.limit, r.periodMs, r.cost, r.seedable ? 1 : 0);
    for (const c of counters) args.push(c.keys.length, String(c.cap), String(Math.round(c.amount)), c.ttlSec, c.reserves ? 1 : 0);
    args.push(bit);
    const cmd = this.redis as unknown as { tgAcquire(n: number, ...a: Array<string | number>): Promise<[number, number, Array<number | string>, string[]?]> };
    // Not connected, ioredis refuses the command at once without sending it (no offline queue): nothing to cancel.
    const sent = this.redis.status === 'ready';
    let answer: Awaited<ReturnType<typeof cmd.tgAcquire>>;
    try {
      answer = await cmd.tgAcquire(keys.length, ...keys, ...args);
    } catch (err) {
      this.failing = true;
      // An error Redis answered is an answer (the script refused, or failed before charging); no answer is not one.
      throw sent && !(err instanceof ReplyError) ? this.unanswered(err, token, marks, bit, rates, counters) : err;
    }
    this.answered();
    const [ok, , reply, epochs] = answer;
    // Run already: sent again by ioredis after a reconnect, the first run's answer lost. Redis is answering, so this is
    // no outage: what the first run charged is given back (CANCEL) and the request asked once more under a new number.
    // Only once: a second such answer, or a cancel unanswered, is handled as an acquire given up on.
    if (ok === 3) {
      const lost = this.unanswered(new Error('the acquire ran already, its answer lost'), token, marks, bit, rates, counters);
      if (!again) throw lost;
      try {
        await lost.cancel(nowMs);
      } catch {
        throw lost;
      }
      return this.acquireOnce(rates, counters, nowMs, false, lease);
    }
    // This instance's lease lapsed (or was never taken yet): nothing was charged; asked again under a new one.
    if (ok === 4) {
      if (!lease) throw new Error("the limit store lost this instance's lease again at once");
      await this.leaseLost(token);
      return this.acquireOnce(rates, counters, nowMs, again, false);
    }
    if (ok === 2) return { allowed: false, missing: (reply as string[]).map((k) => k.slice(this.prefix.length)), rates: [], counters: [] };
    const out = reply as number[];
    const decisions: GcraDecision[] = [];
    let p = 0;
    for (let i = 0; i < rates.length; i++, p += 4) {
      decisions.push({ allowed: out[p] === 1, tat: 0, remaining: out[p + 1], resetMs: out[p + 2], retryAfterMs: out[p + 3] < 0 ? Number.POSITIVE_INFINITY : out[p + 3] });
    }
    const counterResults = counters.map((c, j) => {
      const allowed = out[p] === 1;
      const sum = out[p + 1];
      const inFlight = out[p + 2];
      p += 3;
      // The epoch names the lease too: a settle finds there whether its reservation is still held (see LEASES), and a
      // fallback admitted under another lease holds only what it charged, as one on a counter seeded again.
      if (ok === 1) return { allowed, used: sum + Math.round(c.amount), epoch: `${epochs?.[j] ?? ''}${LEASE_MARK}${token}` };
      return inFlight < 0 ? { allowed, used: sum } : { allowed, used: sum, inFlight };
    });
    return { allowed: ok === 1, rates: decisions, counters: counterResults };
  }

  async adjust(rates: RateAdjust[], counters: CounterAdjust[], nowMs: number): Promise<SettledCounters | undefined> {
    if (rates.length === 0 && counters.length === 0) return [];
    const keys = [
      ...rates.map((r) => this.prefix + r.key),
      ...counters.map((c) => this.prefix + c.key),
      ...counters.map((c) => this.prefix + c.key + EPOCH_SUFFIX),
      ...counters.map((c) => this.prefix + c.key + RESERVED_SUFFIX),
    ];
    const args: Array<string | number> = [Math.floor(nowMs), rates.length, counters.length];
    for (const r of rates) args.push(r.limit, r.periodMs, r.delta, r.seedable ? r.periodMs : 0);
    for (const c of counters) {
      const { epoch, token } = leasedEpoch(c.epoch);
      keys.push(this.heldKeyOf(token ?? ''));
      args.push(String(Math.round(c.delta)), c.ttlSec, epoch, String(Math.round(c.release ?? 0)), token === null ? 0 : 1, Math.max(0, (c.keys?.length ?? 1) - 1));
    }
    for (const c of counters) for (const k of (c.keys ?? [c.key]).slice(1)) keys.push(this.prefix + k, this.prefix + k + RESERVED_SUFFIX);
    // The settle's number: its own, the same when it is tried again (the guard retries with the same lists).
    let n = this.settleNumbers.get(rates);
    if (n === undefined) {
      n = this.settles++;
      this.settleNumbers.set(rates, n);
    }
    keys.push(`${this.prefix}settled:${this.instance}:${Math.floor(n / SETTLE_MARK_BITS)}`);
    args.push(n % SETTLE_MARK_BITS);
    const cmd = this.redis as unknown as { tgAdjust(n: number, ...a: Array<string | number>): Promise<0 | [1, Array<number | null>]> };
    let answer: Awaited<ReturnType<typeof cmd.tgAdjust>>;
    try {
      answer = await cmd.tgAdjust(keys.length, ...keys, ...args);
    } catch (err) {
      this.failing = true;
      throw err;
    }
    this.answered();
    return answer === 0 ? undefined : answer[1].map((v) => (v === null ? null : Number(v)));
  }

  private unanswered(err: unknown, token: string, marks: string, bit: number, rates: RateCheck[], counters: CounterCheck[]): UnansweredAcquire {
    return new UnansweredAcquire(err, (now) => this.cancel(token, marks, bit, rates, counters, now));
  }

  /**
   * Cancels acquire `bit` of `marks`, made under lease `token` (CANCEL): what it charged given back if it ran (and was
   * not given back with its lapsed lease), nothing charged if it runs later.
   */
  private async cancel(token: string, marks: string, bit: number, rates: RateCheck[], counters: CounterCheck[], nowMs: number): Promise<void> {
    const keys = [
      ...rates.map((r) => this.prefix + r.key),
      ...counters.map((c) => this.prefix + c.keys[0]),
      ...counters.map((c) => this.prefix + c.keys[0] + RESERVED_SUFFIX),
      ...counters.map(() => this.heldKeyOf(token)),
      marks,
    ];
    const args: Array<string | number> = [Math.floor(nowMs), rates.length];
    for (const r of rates) args.push(r.limit, r.periodMs, r.cost, r.seedable ? r.periodMs : 0);
    for (const c of counters) args.push(String(-Math.round(c.amount)), c.reserves ? String(Math.round(c.amount)) : '0');
    args.push(bit);
    const cmd = this.redis as unknown as { tgCancel(n: number, ...a: Array<string | number>): Promise<number> };
    await this.tracked(cmd.tgCancel(keys.length, ...keys, ...args));
  }

  async seedCounter(key: string, value: number, ttlSec: number, _nowMs: number): Promise<void> {
    const cmd = this.redis as unknown as { tgSeedCounter(n: number, ...a: Array<string | number>): Promise<number> };
    await this.tracked(
      cmd.tgSeedCounter(3, this.prefix + key, this.prefix + key + EPOCH_SUFFIX, this.prefix + key + RESERVED_SUFFIX, Math.round(value), randomUUID(), ttlSec),
    );
  }

  async seedRate(key: string, tat: number, periodMs: number, nowMs: number): Promise<void> {
    await this.tracked(this.redis.set(this.prefix + key, tat, 'PX', Math.ceil(Math.max(tat - nowMs, periodMs)) + 1000, 'NX'));
  }

  async forget(counterKeys: string[], rateKeys: string[]): Promise<void> {
    const keys = [
      ...counterKeys.flatMap((k) => [this.prefix + k, this.prefix + k + EPOCH_SUFFIX, this.prefix + k + RESERVED_SUFFIX]),
      ...rateKeys.map((k) => this.prefix + k),
    ];
    for (let i = 0; i < keys.length; i += FORGET_BATCH) await this.tracked(this.redis.del(...keys.slice(i, i + FORGET_BATCH)));
  }

  /** Notes that Redis answered: after a failure, it has come back (recoveries). */
  private answered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.comebacks++;
  }

  /** `pending`, with its outcome noted (answered, or failing): for the rarer commands (the settle and acquire note it inline). */
  private async tracked<T>(pending: Promise<T>): Promise<T> {
    try {
      const out = await pending;
      this.answered();
      return out;
    } catch (err) {
      this.failing = true;
      throw err;
    }
  }

  /**
   * Gives back what this instance still holds in flight (requests a shutdown gave up on, whose settles never came:
   * found by a review, a SIGTERM left a $1.04 reservation charged until the month ended), then disconnects.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewTimer);
    if (this.redis.status === 'ready') {
      const cmd = this.redis as unknown as { tgSweep(n: number, ...a: string[]): Promise<number> };
      await cmd.tgSweep(1, this.prefix + LEASES, this.prefix, this.token).catch(() => {});
    }
    this.redis.disconnect();
  }
}
