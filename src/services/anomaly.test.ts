import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '../core/verify.js';
import { AnomalyDetector, NETWORK_ALERTS_PER_HOUR } from './anomaly.js';
import type { ServiceDeps } from './context.js';
import type { Webhooks } from './webhooks.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const record = { id: 'key_1', orgId: 'org-1', projectId: 'proj_1' } as KeyRecord;

/** A detector over stubs: the read of a key's known networks waits until `release()`; the sink stores into a Set. */
function setup(known: string[], opts: { heldLoad?: boolean; storedElsewhere?: Array<{ network: string; first_seen: number }> } = {}) {
  let release!: () => void;
  const gate = opts.heldLoad ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  const stored = new Set(known);
  const audit: Array<Record<string, unknown>> = [];
  const emitted: Array<Record<string, unknown>> = [];
  let now = T0;
  const query = { where: () => query, select: () => query, compile: () => ({ sql: 'select', parameters: ['\u0000precompiled parameter 0\u0000'] }) };
  const trx = { insertInto: () => ({ values: (row: { details: string }) => ({ execute: async () => audit.push(JSON.parse(row.details)) }) }) };
  let reads = 0;
  const db = {
    executeQuery: async () => {
      await gate;
      // Later reads see what another instance stored meanwhile (opts.storedElsewhere), beside what this one stored.
      if (reads++ > 0 && opts.storedElsewhere) return { rows: [...opts.storedElsewhere, ...[...stored].map((network) => ({ network, first_seen: T0 / 1000 }))] };
      return { rows: known.map((network) => ({ network, first_seen: T0 / 1000 - 3600 })) };
    },
    selectFrom: () => query,
    transaction: () => ({ execute: async (fn: (t: typeof trx) => Promise<void>) => fn(trx) }),
  };
  const deps = { database: { db }, clock: () => now, randomBytes: (n: number) => Buffer.alloc(n, 1), changes: { keyChanged() {} } } as unknown as ServiceDeps;
  // Each event is written with the audit entry it tells of, in its transaction.
  const webhooks = {
    emit: async (_org: string, _type: string, data: Record<string, unknown>, db: unknown) => {
      if (db !== trx) throw new Error('the anomaly webhook was written outside its audit entry\'s transaction');
      emitted.push(data);
    },
    kick() {},
  } as unknown as Webhooks;
  const sink = {
    rememberNetwork: async (r: { network: string }) => {
      const had = stored.has(r.network);
      stored.add(r.network);
      return !had;
    },
  };
  const det = new AnomalyDetector(deps, webhooks, sink, {
    autoSuspend: false,
    rateFactor: 10,
    minRate: 1e9,
    warmupMinutes: 1e9,
    onError: (err) => {
      throw err;
    },
  });
  return {
    det,
    release: () => release?.(),
    audit,
    emitted,
    stored,
    setNow: (ms: number) => {
      now = ms;
    },
  };
}
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('AnomalyDetector: networks seen while a key’s known networks load', () => {
  it('flags a new network whose first request came during the load, however often that address is used after', async () => {
    const { det, release, audit, stored } = setup(['10.0.0.0/24'], { heldLoad: true }); // the owner's, from before a restart
    det.observe(record, '10.0.0.5', T0); // the owner's request starts the load
    det.observe(record, '203.0.113.9', T0); // a thief's, while it is read
    release();
    await settle();
    for (let i = 0; i < 100; i++) det.observe(record, '203.0.113.9', T0 + i);
    await settle();
    expect(stored.has('203.0.113.0/24')).toBe(true);
    expect(audit).toEqual([expect.objectContaining({ kind: 'new_network', network: '203.0.113.0/24' })]);
  });

  it('flags one seen only once during the load, and takes a new key’s first network as its baseline', async () => {
    const { det, release, audit, stored } = setup([], { heldLoad: true });
    det.observe(record, '10.0.0.5', T0);
    det.observe(record, '198.51.100.7', T0);
    det.observe(record, '10.0.0.6', T0);
    release();
    await settle();
    expect([...stored]).toEqual(['10.0.0.0/24', '198.51.100.0/24']);
    expect(audit).toEqual([expect.objectContaining({ kind: 'new_network', network: '198.51.100.0/24', ip: null })]);
  });
});

describe('AnomalyDetector: a key first used on two instances at once', () => {
  it('alerts the network stored after the other instance’s, not neither', async () => {
    // Another instance stored 10.3.0.0/24 as this key's first network a second before this one stores 10.2.0.0/24.
    const s = setup([], { storedElsewhere: [{ network: '10.3.0.0/24', first_seen: T0 / 1000 - 1 }] });
    s.det.observe(record, '10.2.0.1', T0);
    await settle();
    expect(s.audit.map((a) => a.network)).toEqual(['10.2.0.0/24']);
  });

  it('takes its own as the baseline when it was stored first (and the tie goes to the least network)', async () => {
    for (const elsewhere of [{ network: '10.3.0.0/24', first_seen: T0 / 1000 + 1 }, { network: '10.9.0.0/24', first_seen: T0 / 1000 }]) {
      const s = setup([], { storedElsewhere: [elsewhere] });
      s.det.observe(record, '10.2.0.1', T0);
      await settle();
      expect(s.audit, elsewhere.network).toEqual([]);
    }
  });
});

describe('AnomalyDetector: new-network alerts per key', () => {
  const v6 = (i: number) => `2001:db8:${i.toString(16)}::1`;

  it(`raises ${NETWORK_ALERTS_PER_HOUR} one by one in an hour, then one summary after it; every network is stored`, async () => {
    const { det, audit, emitted, stored, setNow } = setup(['10.0.0.0/24']);
    det.observe(record, '10.0.0.5', T0);
    await settle();
    for (let i = 0; i < 500; i++) det.observe(record, v6(i), T0 + i);
    await settle();
    expect(stored.size).toBe(501);
    expect(audit).toHaveLength(NETWORK_ALERTS_PER_HOUR);
    expect(emitted).toHaveLength(NETWORK_ALERTS_PER_HOUR);
    expect(audit.map((d) => d.network)).toEqual(['2001:db8:0::/48', '2001:db8:1::/48', '2001:db8:2::/48']);

    det.observe(record, '10.0.0.5', T0 + 3_599_999); // still the same hour: nothing more
    await settle();
    expect(audit).toHaveLength(NETWORK_ALERTS_PER_HOUR);

    setNow(T0 + 3_600_000);
    det.observe(record, '10.0.0.5', T0 + 3_600_000); // the key's first request after the hour sends the summary
    det.observe(record, '10.0.0.5', T0 + 3_600_001);
    await settle();
    expect(audit).toHaveLength(NETWORK_ALERTS_PER_HOUR + 1);
    const summary = audit[NETWORK_ALERTS_PER_HOUR];
    expect(summary).toMatchObject({ kind: 'new_networks', new_networks: 497, since: Math.floor(T0 / 1000), auto_suspended: false });
    expect(summary.networks).toHaveLength(10);
    expect((summary.networks as string[])[0]).toBe('2001:db8:3::/48');
    expect(emitted[NETWORK_ALERTS_PER_HOUR]).toMatchObject({ kind: 'new_networks', new_networks: 497, api_key_id: 'key_1' });

    // A new hour: alerts one by one again.
    det.observe(record, v6(1000), T0 + 3_600_002);
    await settle();
    expect(audit[NETWORK_ALERTS_PER_HOUR + 1]).toMatchObject({ kind: 'new_network', network: '2001:db8:3e8::/48' });
  });

  it('sends the summary with the next new network after the hour too, and none when nothing was held back', async () => {
    const { det, audit } = setup(['10.0.0.0/24']);
    det.observe(record, '10.0.0.5', T0);
    await settle();
    for (let i = 0; i < NETWORK_ALERTS_PER_HOUR + 2; i++) det.observe(record, v6(i), T0);
    await settle();
    det.observe(record, v6(99), T0 + 3_600_000);
    await settle();
    expect(audit.map((d) => d.kind)).toEqual([...Array(NETWORK_ALERTS_PER_HOUR).fill('new_network'), 'new_networks', 'new_network']);
    expect(audit[NETWORK_ALERTS_PER_HOUR]).toMatchObject({ new_networks: 2 });

    det.observe(record, v6(100), T0 + 2 * 3_600_000 + 1);
    det.observe(record, '10.0.0.5', T0 + 2 * 3_600_000 + 2);
    await settle();
    expect(audit.map((d) => d.kind).filter((k) => k === 'new_networks')).toHaveLength(1);
  });
});
