import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { waitFor } from './harness/wait.js';

// Webhook deliveries were held in memory: retried at 1 s, 4 s, 16 s and 60 s, then dropped, and lost by a restart (a
// deploy, a crash). They are rows in the database now, retried for about a day and sent by whichever instance claims
// them (services/webhook-dispatcher.ts).

const ORG = '/v1/organization';
const T0 = Date.UTC(2026, 5, 1, 12);

interface Attempt {
  delivery: string;
  event: string;
  body: string;
  headers: IncomingHttpHeaders;
  answered: number;
}

/** A receiver answering `status()` (after `delayMs`), keeping every attempt. */
async function receiver(status: () => number, delayMs = 0) {
  const attempts: Attempt[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const answered = status();
    attempts.push({ delivery: String(req.headers['x-tollgate-delivery']), event: String(req.headers['x-tollgate-event']), body: Buffer.concat(chunks).toString(), headers: req.headers, answered });
    res.statusCode = answered;
    res.end();
  });
  const url = `${await listenOnLoopback(server)}/hook`;
  return { url, attempts, delivered: () => attempts.filter((a) => a.answered < 300), close: () => server.close() };
}

/** Reports a new key of `t` exposed: one `api_key.exposed` event. */
async function exposeAKey(t: TestServer): Promise<string> {
  const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaked' } })).body;
  const r = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: key.value, url: 'https://example.com/leak' }] } });
  expect(r.body.data[0].disabled_key_id).toBe(key.id);
  return key.id;
}

const closing: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
});

describeEachDatabase('durable webhook deliveries', (backend) => {
  it('an event emitted while its endpoint is down is delivered once the endpoint is back, past the old 81 s window', async () => {
    let now = T0;
    let up = false;
    const hook = await receiver(() => (up ? 200 : 503));
    closing.push(hook.close);
    const t = await startTestServer(backend, { clock: () => now });
    closing.push(() => t.close());
    expect((await t.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['api_key.exposed'] } })).status).toBe(200);
    const keyId = await exposeAKey(t);
    await waitFor(() => hook.attempts.length === 1);
    // The first attempt (started by the event's own kick) is written back, its lease let go, before the runs below (a
    // run while it was still leased skipped the retry due: flaky on PostgreSQL under load).
    const db = t.server.runtime.database.db;
    await waitFor(async () => (await db.selectFrom('webhook_deliveries').select(['attempts', 'lease_id']).execute()).every((d) => d.attempts === 1 && d.lease_id === null));
    // The old schedule's attempts (0, 1, 5, 21 and 81 s): all refused.
    for (const [i, at] of [1, 5, 21, 81].entries()) {
      now = T0 + at * 1000;
      await t.server.webhooks.runOnce();
      expect(hook.attempts).toHaveLength(i + 2);
    }
    expect(hook.attempts.map((a) => a.answered)).toEqual([503, 503, 503, 503, 503]);
    up = true;
    // Not due yet: nothing is sent before its time.
    now = T0 + 200_000;
    await t.server.webhooks.runOnce();
    expect(hook.attempts).toHaveLength(5);
    now = T0 + 381_000;
    await t.server.webhooks.runOnce();
    expect(hook.delivered()).toHaveLength(1);
    // The same event every time: one delivery id (receivers dedupe by it), the same body, signed anew.
    expect(new Set(hook.attempts.map((a) => a.delivery)).size).toBe(1);
    expect(new Set(hook.attempts.map((a) => a.body)).size).toBe(1);
    expect(hook.attempts[0].delivery).toBe(JSON.parse(hook.attempts[0].body).id);
    expect(JSON.parse(hook.attempts[5].body)).toMatchObject({ type: 'api_key.exposed', data: { api_key_id: keyId } });
    expect(hook.attempts[5].headers['x-tollgate-signature']).toMatch(new RegExp(`^t=${Math.floor(now / 1000)},v1=[0-9a-f]{64}$`));
    // Delivered: never sent again.
    now += 86_400_000;
    await t.server.webhooks.runOnce();
    expect(hook.attempts).toHaveLength(6);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('tollgate_webhook_deliveries_total{result="delivered"} 1');
    expect(metrics).toContain('tollgate_webhook_deliveries_total{result="retried"} 5');
  }, 30_000);

  it('an event pending when the server stops is delivered by the next start on the same data dir and database', async () => {
    let up = false;
    const hook = await receiver(() => (up ? 200 : 503));
    closing.push(hook.close);
    const first = await startTestServer(backend, { keepSchema: true });
    let keyId: string;
    try {
      expect((await first.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['api_key.exposed'] } })).status).toBe(200);
      keyId = await exposeAKey(first);
      await waitFor(() => hook.attempts.length === 1);
    } finally {
      await first.server.close();
    }
    up = true;
    const second = await startTestServer(backend, { dataDir: first.dataDir, schema: first.schema });
    closing.push(() => second.close());
    await waitFor(() => hook.delivered().length === 1, 10_000);
    expect(JSON.parse(hook.delivered()[0].body)).toMatchObject({ type: 'api_key.exposed', data: { api_key_id: keyId } });
    expect(hook.delivered()[0].delivery).toBe(hook.attempts[0].delivery);
  }, 30_000);
});

describeEachDatabase('webhook deliveries shared by several instances', (backend) => {
  it.skipIf(backend.name === 'sqlite')('two instances on one database send each event once, whichever emitted it', async () => {
    let now = T0;
    const clock = () => now;
    let up = false;
    // Slow answers, so that both instances' passes overlap while deliveries are under way.
    const hook = await receiver(() => (up ? 200 : 500), 100);
    closing.push(hook.close);
    // Instances sharing a database share TOLLGATE_SECRET (docs/deployment.md): each opens the endpoints' secrets.
    const env = { TOLLGATE_SECRET: 'shared-server-secret-0123456789abcdefghij' };
    const a = await startTestServer(backend, { clock, env });
    closing.push(() => a.close());
    const b = await startTestServer(backend, { clock, env, schema: a.schema, keepSchema: true });
    closing.push(() => b.server.close());
    expect((await a.api('POST', `${ORG}/webhooks`, { body: { url: hook.url, event_types: ['api_key.exposed'] } })).status).toBe(200);
    const keys: string[] = [];
    for (let i = 0; i < 6; i++) keys.push(await exposeAKey(i % 2 === 0 ? a : b));
    await waitFor(() => hook.attempts.length >= 6);
    up = true;
    now += 3_600_000;
    for (let i = 0; i < 5; i++) await Promise.all([a.server.webhooks.runOnce(), b.server.webhooks.runOnce(), a.server.webhooks.runOnce(), b.server.webhooks.runOnce()]);
    await waitFor(() => hook.delivered().length >= 6);
    // Both instances poll on their own too: time for a second send, had a row been claimed twice.
    await new Promise((r) => setTimeout(r, 1500));
    const delivered = hook.delivered().map((d) => JSON.parse(d.body).data.api_key_id);
    expect(delivered.sort()).toEqual([...keys].sort());
    // Every event attempted once while the endpoint was down, then answered once.
    const byEvent = new Map<string, number>();
    for (const d of hook.attempts) byEvent.set(d.delivery, (byEvent.get(d.delivery) ?? 0) + 1);
    expect([...byEvent.values()]).toEqual([2, 2, 2, 2, 2, 2]);
  }, 60_000);
});
