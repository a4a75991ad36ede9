import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ServiceDeps } from './context.js';
import { seal } from './secret-box.js';
import { Webhooks } from './webhooks.js';

// An endpoint whose signing secret was sealed under another TOLLGATE_SECRET: its decryption threw inside the loop, so
// no endpoint after it got the event (found by a review).

/** A database whose every query of webhooks answers `rows`. */
function depsWith(rows: object[]): ServiceDeps {
  const query: Record<string, unknown> = {};
  query.selectAll = () => query;
  query.where = () => query;
  query.execute = async () => rows;
  return { database: { db: { selectFrom: () => query } }, clock: () => Date.parse('2026-12-07T12:00:00Z') } as unknown as ServiceDeps;
}

describe('Webhooks.emit', () => {
  it('skips, and names, an endpoint whose secret cannot be opened; the others get the event', async () => {
    const hits: string[] = [];
    const receiver = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end());
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const current = 'current-server-secret-0123456789abcdef';
    const rows = [
      { id: 'wh_old', url: `${url}/old`, event_types: '["*"]', secret_encrypted: seal('an-earlier-server-secret-0123456789abcd', 'whsec_old') },
      { id: 'wh_new', url: `${url}/new`, event_types: '["*"]', secret_encrypted: seal(current, 'whsec_new') },
    ];
    const errors: string[] = [];
    const webhooks = new Webhooks(depsWith(rows), current, { backoffMs: [], timeoutMs: 2000, onError: (e) => errors.push(e) });
    await webhooks.emit('org-1', 'budget.threshold_crossed', { x: 1 });
    for (let i = 0; i < 100 && hits.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    receiver.close();
    expect(hits).toEqual(['/new']);
    expect(errors.join('\n')).toContain('wh_old');
    expect(errors.join('\n')).not.toContain('whsec_');
  });
});

describe('Webhooks retries', () => {
  it('stop once the endpoint is deleted: a retry goes only to an endpoint still there', async () => {
    let hits = 0;
    const receiver = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => {
        res.statusCode = 500;
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const secret = 'current-server-secret-0123456789abcdef';
    const rows = [{ id: 'wh_1', url, event_types: '["*"]', secret_encrypted: seal(secret, 'whsec_1') }];
    let deleted = false;
    const query: Record<string, unknown> = {};
    query.selectAll = () => query;
    query.select = () => query;
    query.where = () => query;
    query.execute = async () => rows;
    query.executeTakeFirst = async () => (deleted ? undefined : rows[0]);
    const deps = { database: { db: { selectFrom: () => query } }, clock: () => Date.parse('2026-12-07T12:00:00Z') } as unknown as ServiceDeps;
    const webhooks = new Webhooks(deps, secret, { backoffMs: [50, 1000, 1000], timeoutMs: 2000 });
    await webhooks.emit('org-1', 'anomaly.detected', { x: 1 });
    for (let i = 0; i < 100 && hits < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hits).toBe(2);
    deleted = true;
    // Past the next retry's time (1 s after the second attempt).
    await new Promise((r) => setTimeout(r, 1500));
    receiver.close();
    // The first attempt and one retry before the delete; none after.
    expect(hits).toBe(2);
  });
});

