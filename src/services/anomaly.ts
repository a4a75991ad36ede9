import { networkOf } from '../core/network.js';
import type { UsageSink } from '../core/ports.js';
import { boundedText, MAX_STORED_ADDRESS } from '../core/stored-text.js';
import type { KeyRecord } from '../core/verify.js';
import { writeAudit } from './audit.js';
import type { ServiceDeps } from './context.js';
import { nowSeconds } from './context.js';
import { recordKeyChange } from './key-writes.js';
import { precompiled } from '../storage/precompiled.js';
import type { WebhookEmitter } from './webhooks.js';

// Anomaly signals ("monitor usage to detect suspicious activity"): a key used from a network range it was never used
// from, or at a rate far above its own history. Each raises an audit entry and an `anomaly.detected` webhook, and
// with auto-suspend on (off by default) suspends the key at once. Observation is O(1) in memory on the request path;
// what needs the database runs after it. New-network alerts are capped per key (NETWORK_ALERTS_PER_HOUR, then one
// summary an hour): one key used from a proxy pool or an IPv6 /32 once raised an alert and a webhook per network, 500
// for 500 /48s, burying real ones. Every network is still stored.

/** New-network alerts a key raises one by one in an hour; the networks new after them go into one summary. */
export const NETWORK_ALERTS_PER_HOUR = 3;
/** Networks named in a summary (its count says how many there were). */
export const NETWORK_SUMMARY_SAMPLE = 10;
/** Networks queued per key while its known networks load; past it a network waits for its next request. */
const MAX_PENDING_NETWORKS = 1000;
const HOUR_MS = 3_600_000;

/**
 * The networks a key was used from: one as itself, more as a Set (a Set per key was ~150 bytes of the heap for every
 * key in use, 1.5 MB with 10,000 keys, nearly always holding one network).
 */
type Networks = string | Set<string>;

const hasNetwork = (networks: Networks, network: string) => (typeof networks === 'string' ? networks === network : networks.has(network));
const withNetwork = (networks: Networks, network: string): Networks =>
  typeof networks === 'string' ? new Set([networks, network]) : networks.add(network);

interface KeyActivity {
  /** Null until loaded from the database. */
  networks: Networks | null;
  loading: boolean;
  minuteStart: number;
  count: number;
  /** Exponentially weighted requests per minute over past minutes. */
  average: number;
  minutesSeen: number;
  lastRateAlert: number;
  /**
   * The last address seen once the networks are loaded: a repeat needs no network lookup (the common case on the hot
   * path). Not set while they load: a thief's address seen then was once never compared again (1,000 requests, 0 alerts).
   */
  lastIp: string;
  /** Networks seen while the known ones load, first seen first: compared when the load completes. */
  pending: Networks | null;
  /** This hour's new-network alerts, from the key's first one (null until then: most keys never have one). */
  networkAlerts: NetworkAlertWindow | null;
}

interface NetworkAlertWindow {
  start: number;
  /** Alerts raised one by one in this window. */
  sent: number;
  /** New networks past the cap, for the summary. */
  quiet: number;
  sample: string[];
}

export interface AnomalyOptions {
  autoSuspend: boolean;
  /** A minute above max(minRate, factor × average) is unusual. */
  rateFactor: number;
  minRate: number;
  /** Minutes of history before rate signals count. */
  warmupMinutes: number;
  onError: (err: unknown) => void;
}

export class AnomalyDetector {
  private readonly keys = new Map<string, KeyActivity>();
  readonly stats = { newNetwork: 0, newNetworkSummaries: 0, highRate: 0, suspended: 0 };
  // Runs at every key's first use (compiled once: see precompiled).
  private readonly networksOf: (keyId: string) => Promise<Array<{ network: string; first_seen: number }>>;

  /**
   * `networks` stores a key's new networks: the usage sink (on SQLite that write, at every key's first use, waited on
   * the event loop whenever the usage worker held the write lock, tens of milliseconds under load; the worker does it).
   */
  constructor(
    private readonly deps: ServiceDeps,
    private readonly webhooks: WebhookEmitter,
    private readonly networks: Pick<UsageSink, 'rememberNetwork'>,
    private readonly opts: AnomalyOptions,
  ) {
    const db = deps.database.db;
    this.networksOf = precompiled<{ network: string; first_seen: number }, [string]>(db, 1, (keyId) =>
      db.selectFrom('key_networks').select(['network', 'first_seen']).where('key_id', '=', keyId),
    );
  }

  /** Notes one request of a key from an address. */
  observe(record: KeyRecord, ip: string, nowMs: number): void {
    let a = this.keys.get(record.id);
    if (!a) {
      if (this.keys.size > 200_000) this.keys.clear();
      a = { networks: null, loading: false, minuteStart: nowMs - (nowMs % 60_000), count: 0, average: 0, minutesSeen: 0, lastRateAlert: 0, lastIp: '', pending: null, networkAlerts: null };
      this.keys.set(record.id, a);
    }
    const minute = nowMs - (nowMs % 60_000);
    if (minute !== a.minuteStart) {
      const elapsed = Math.min(60, Math.round((minute - a.minuteStart) / 60_000));
      for (let i = 0; i < elapsed; i++) {
        a.average = a.average * 0.9 + (i === 0 ? a.count : 0) * 0.1;
        a.minutesSeen++;
      }
      a.minuteStart = minute;
      a.count = 0;
    }
    a.count++;
    if (
      a.minutesSeen >= this.opts.warmupMinutes &&
      a.count === Math.max(this.opts.minRate, Math.ceil(this.opts.rateFactor * a.average)) + 1 &&
      nowMs - a.lastRateAlert > 3_600_000
    ) {
      a.lastRateAlert = nowMs;
      this.stats.highRate++;
      void this.raise(record, 'high_rate', { requests_this_minute: a.count, usual_per_minute: Number(a.average.toFixed(2)), ip });
    }
    const w = a.networkAlerts;
    // The summary of an hour's networks past the cap goes with the key's first request after that hour.
    if (w !== null && w.quiet !== 0 && nowMs - w.start >= HOUR_MS) {
      a.networkAlerts = null;
      void this.raiseSummary(record, w);
    }
    if (ip === a.lastIp && a.networks !== null) return;
    const network = networkOf(ip);
    if (!network) return;
    if (a.networks === null) {
      const p = a.pending;
      if (p === null) a.pending = network;
      else if (!hasNetwork(p, network) && (typeof p === 'string' || p.size < MAX_PENDING_NETWORKS)) a.pending = withNetwork(p, network);
      if (!a.loading) {
        a.loading = true;
        void this.loadNetworks(record, a, nowMs);
      }
      return;
    }
    a.lastIp = ip;
    if (!hasNetwork(a.networks, network)) {
      a.networks = withNetwork(a.networks, network);
      // Not the key's first network: loading put the one it was first seen from in.
      void this.rememberNetwork(record, a, network, nowMs, false, ip);
    }
  }

  private async loadNetworks(record: KeyRecord, a: KeyActivity, nowMs: number): Promise<void> {
    try {
      const known = (await this.networksOf(record.id)).map((r) => r.network);
      const seen = a.pending;
      a.pending = null;
      let networks: Networks | null = known.length === 0 ? null : known.length === 1 ? known[0] : new Set(known);
      const fresh: string[] = [];
      for (const network of seen === null ? [] : typeof seen === 'string' ? [seen] : seen) {
        if (networks !== null && hasNetwork(networks, network)) continue;
        networks = networks === null ? network : withNetwork(networks, network);
        fresh.push(network);
      }
      if (networks === null) {
        a.loading = false; // nothing to compare with yet: the next request loads again
        return;
      }
      a.networks = networks;
      // A key never used before: the first network seen is its baseline, the others seen meanwhile are new.
      for (let i = 0; i < fresh.length; i++) await this.rememberNetwork(record, a, fresh[i], nowMs, known.length === 0 && i === 0, null);
    } catch (err) {
      a.loading = false; // what was pending stays pending for the next load
      this.opts.onError(err);
    }
  }

  private async rememberNetwork(record: KeyRecord, a: KeyActivity, network: string, nowMs: number, first: boolean, ip: string | null): Promise<void> {
    try {
      const inserted = await this.networks.rememberNetwork({ key_id: record.id, network, first_seen: Math.floor(nowMs / 1000) });
      // The first network a key is used from is its baseline, not an anomaly. Two instances may each take their own for
      // the first (each read none): the stored ones decide, the earliest (then the least) being the baseline, so that
      // exactly the other is alerted (found by a review: a key first used on two instances at once raised none).
      const baseline = inserted && first && (await this.isBaseline(record.id, network));
      if (inserted && !baseline) {
        this.stats.newNetwork++;
        await this.alertNewNetwork(record, a, network, ip, nowMs);
      }
    } catch (err) {
      this.opts.onError(err);
    }
  }

  /** Whether `network` is the key's baseline among the networks stored: the earliest seen, the least of a tie. */
  private async isBaseline(keyId: string, network: string): Promise<boolean> {
    let base: { network: string; first_seen: number } | null = null;
    for (const r of await this.networksOf(keyId)) {
      const seen = Number(r.first_seen);
      if (base === null || seen < base.first_seen || (seen === base.first_seen && r.network < base.network)) base = { network: r.network, first_seen: seen };
    }
    return base === null || base.network === network;
  }

  /** Alerts a key's new network, or counts it for the hour's summary once the key has had its alerts this hour. */
  private async alertNewNetwork(record: KeyRecord, a: KeyActivity, network: string, ip: string | null, nowMs: number): Promise<void> {
    let w = a.networkAlerts;
    if (w !== null && nowMs - w.start >= HOUR_MS) {
      if (w.quiet !== 0) void this.raiseSummary(record, w);
      w = null;
    }
    if (w === null) {
      w = { start: nowMs, sent: 0, quiet: 0, sample: [] };
      a.networkAlerts = w;
    }
    if (w.sent < NETWORK_ALERTS_PER_HOUR) {
      w.sent++;
      return this.raise(record, 'new_network', { network, ip });
    }
    w.quiet++;
    if (w.sample.length < NETWORK_SUMMARY_SAMPLE) w.sample.push(network);
  }

  private raiseSummary(record: KeyRecord, w: NetworkAlertWindow): Promise<void> {
    this.stats.newNetworkSummaries++;
    return this.raise(record, 'new_networks', { new_networks: w.quiet, networks: w.sample, since: Math.floor(w.start / 1000), ip: null });
  }

  private async raise(record: KeyRecord, kind: 'new_network' | 'new_networks' | 'high_rate', details: { ip: string | null; [k: string]: unknown }): Promise<void> {
    // The address may be any text a trusted proxy forwarded (X-Forwarded-For): stored bounded.
    if (details.ip !== null) details.ip = boundedText(details.ip, MAX_STORED_ADDRESS);
    try {
      const suspend = this.opts.autoSuspend;
      await this.deps.database.db.transaction().execute(async (trx) => {
        await writeAudit(trx, this.deps, {
          orgId: record.orgId,
          type: 'api_key.anomaly',
          actor: { type: 'system', id: null },
          projectId: record.projectId,
          objectId: record.id,
          details: { kind, ...details, auto_suspended: suspend },
        });
        if (suspend) {
          const res = await trx.updateTable('api_keys').set({ status: 'suspended' }).where('id', '=', record.id).where('status', '=', 'active').executeTakeFirst();
          if (Number(res.numUpdatedRows) > 0) {
            this.stats.suspended++;
            await recordKeyChange(trx, this.deps, record.id);
            await writeAudit(trx, this.deps, { orgId: record.orgId, type: 'api_key.suspended', actor: { type: 'system', id: null }, projectId: record.projectId, objectId: record.id, details: { reason: kind } });
          }
        }
        // With the entry (and the suspension) it tells of: owed exactly when they are written.
        await this.webhooks.emit(record.orgId, 'anomaly.detected', { api_key_id: record.id, project_id: record.projectId, kind, ...details, auto_suspended: suspend, at: nowSeconds(this.deps) }, trx);
      });
      if (suspend) this.deps.changes.keyChanged(record.id);
      this.webhooks.kick();
    } catch (err) {
      this.opts.onError(err);
    }
  }
}
