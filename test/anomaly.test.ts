import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

const ORG = '/v1/organization';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function anomalies(t: TestServer, keyId: string, want: number) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const data = (await t.api('GET', `${ORG}/audit_logs?event_types=api_key.anomaly&resource_ids=${keyId}`)).body.data;
    if (data.length >= want || Date.now() > deadline) return data;
    await sleep(50);
  }
}

const from = (t: TestServer, key: string, ip: string) => fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': ip } });

describe('anomaly signals', () => {
  let t: TestServer;
  let now = Date.UTC(2026, 10, 26, 12, 0, 0);
  beforeAll(async () => {
    t = await startTestServer(
      { name: 'sqlite' },
      { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1', TOLLGATE_ANOMALY_WARMUP_MINUTES: '3', TOLLGATE_ANOMALY_MIN_RATE: '5', TOLLGATE_ANOMALY_RATE_FACTOR: '3' }, clock: () => now },
    );
  });
  afterAll(async () => t?.close());

  it('flags a key used from a new network range, not its first one or a neighbour', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    expect((await from(t, k.value, '10.1.1.1')).status).toBe(200);
    await sleep(200);
    expect((await from(t, k.value, '10.1.1.2')).status).toBe(200);
    await sleep(200);
    expect(await anomalies(t, k.id, 0)).toHaveLength(0);
    expect((await from(t, k.value, '203.0.113.7')).status).toBe(200);
    const found = await anomalies(t, k.id, 1);
    expect(found).toHaveLength(1);
    expect(found[0]['api_key.anomaly']).toMatchObject({ kind: 'new_network', network: '203.0.113.0/24', auto_suspended: false });
    expect((await from(t, k.value, '203.0.113.8')).status).toBe(200); // not suspended by default
  });

  it('stores the address a trusted proxy forwarded bounded, however long', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    expect((await from(t, k.value, '10.2.2.2')).status).toBe(200);
    await sleep(200);
    // ipaddr.js reads an IPv6 zone of any length: the address is valid, and 4 KB long.
    expect((await from(t, k.value, `fe80::1%${'z'.repeat(4096)}`)).status).toBe(200);
    const found = await anomalies(t, k.id, 1);
    expect(found).toHaveLength(1);
    expect(found[0]['api_key.anomaly']).toMatchObject({ kind: 'new_network', network: 'fe80:0:0::/48' });
    expect(found[0]['api_key.anomaly'].ip.length).toBeLessThanOrEqual(64);
  });

  it('alerts a key’s first new networks of an hour one by one, then sums up the rest after the hour', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    expect((await from(t, k.value, '10.3.3.3')).status).toBe(200);
    await sleep(200);
    for (let i = 0; i < 8; i++) expect((await from(t, k.value, `2001:db8:${i}::1`)).status).toBe(200);
    await sleep(300);
    const single = await anomalies(t, k.id, 3);
    expect(single.map((e: Record<string, { kind: string }>) => e['api_key.anomaly'].kind)).toEqual(['new_network', 'new_network', 'new_network']);
    now += 3_600_000;
    await from(t, k.value, '10.3.3.3');
    const all = await anomalies(t, k.id, 4);
    expect(all).toHaveLength(4);
    const summary = all.find((e: Record<string, { kind: string }>) => e['api_key.anomaly'].kind === 'new_networks')['api_key.anomaly'];
    expect(summary).toMatchObject({ new_networks: 5, auto_suspended: false });
    expect([...summary.networks].sort()).toEqual(['2001:db8:3::/48', '2001:db8:4::/48', '2001:db8:5::/48', '2001:db8:6::/48', '2001:db8:7::/48']);
  });

  it('flags a rate far above the key’s own history', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
    for (let m = 0; m < 4; m++) {
      await from(t, k.value, '10.9.9.9');
      now += 60_000;
    }
    for (let i = 0; i < 4; i++) await from(t, k.value, '10.9.9.9');
    await sleep(200);
    expect(await anomalies(t, k.id, 0)).toHaveLength(0);
    for (let i = 0; i < 4; i++) await from(t, k.value, '10.9.9.9');
    const found = await anomalies(t, k.id, 1);
    expect(found).toHaveLength(1);
    expect(found[0]['api_key.anomaly']).toMatchObject({ kind: 'high_rate', requests_this_minute: 6 });
  });
});

describe('anomaly auto-suspend', () => {
  it('suspends the key at once when configured', async () => {
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1', TOLLGATE_ANOMALY_AUTO_SUSPEND: 'true' } });
    try {
      const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: {} })).body;
      expect((await from(t, k.value, '10.1.1.1')).status).toBe(200);
      await sleep(200);
      await from(t, k.value, '198.51.100.1');
      const deadline = Date.now() + 5000;
      let res = await from(t, k.value, '10.1.1.1');
      while (res.status === 200 && Date.now() < deadline) {
        await sleep(50);
        res = await from(t, k.value, '10.1.1.1');
      }
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toContain('suspended');
      expect((await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${k.id}`)).body.status).toBe('suspended');
      const audit = (await t.api('GET', `${ORG}/audit_logs?event_types=api_key.suspended&resource_ids=${k.id}`)).body.data;
      expect(audit).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
