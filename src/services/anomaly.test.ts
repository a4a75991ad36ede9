import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '../core/verify.js';
import { AnomalyDetector } from './anomaly.js';
import type { ServiceDeps } from './context.js';
import type { Webhooks } from './webhooks.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const record = { id: 'key_1', orgId: 'org-1', projectId: 'proj_1' } as KeyRecord;

/** A detector over stubs: the read of a key's known networks waits until `release()`; the sink stores into a Set. */
function setup(known: string[], opts: { heldLoad?: boolean } = {}) {
  let release!: () => void;
  const gate = opts.heldLoad ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  const stored = new Set(known);
  const audit: Array<Record<string, unknown>> = [];
  const emitted: Array<Record<string, unknown>> = [];
  const query = { where: () => query, select: () => query, compile: () => ({ sql: 'select', parameters: ['\u0000precompiled parameter 0\u0000'] }) };
  const trx = { insertInto: () => ({ values: (row: { details: string }) => ({ execute: async () => audit.push(JSON.parse(row.details)) }) }) };
  const db = {
    executeQuery: async () => {
      await gate;
      return { rows: known.map((network) => ({ network })) };
    },
    selectFrom: () => query,
    transaction: () => ({ execute: async (fn: (t: typeof trx) => Promise<void>) => fn(trx) }),
  };
  const deps = { database: { db }, clock: () => T0, randomBytes: (n: number) => Buffer.alloc(n, 1), changes: { keyChanged() {} } } as unknown as ServiceDeps;
  const webhooks = { emit: async (_org: string, _type: string, data: Record<string, unknown>) => void emitted.push(data) } as unknown as Webhooks;
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
  return { det, release: () => release?.(), audit, stored };
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
