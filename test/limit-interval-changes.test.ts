import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Backend, describeEachDatabase, describeWithRedis } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { O1_PRICING, o1Control, startO1Upstream } from './harness/o1-upstream.js';

// A request quota's or a spend limit's counter is named by its period (`m2026-05`, `w…`, `total`), so it is charged
// only while its interval is in force. Set back to an interval it had within that counter's life (a month and a day, or
// for ever for `total`), or removed and set again, a limit used to find that interval's old counter and go on from it:
// a counter that knew nothing of what was used under the other setting, so a key went past its quota or its budget
// (found by a review, with the RPD limit set back to an earlier value). A changed interval now gets a counter of its own,
// counted from stored usage as a new interval's always was.

const ORG = '/v1/organization';
/** Every answer of the upstream: 12,500 output tokens of a $60/M model, $0.75. */
const ANSWER_TOKENS = 12_500;

const ctl = o1Control();

function suite(backend: Backend, redisUrl?: string) {
  let upstream: Awaited<ReturnType<typeof startO1Upstream>> | undefined;
  let t: TestServer;

  beforeAll(async () => {
    upstream = await startO1Upstream(ctl);
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-intervals-')), 'tollgate.config.json');
    const url = upstream.url;
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: url }], pricing: O1_PRICING }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** How many of `n` requests in turn were let through (`model` o1: $0.75 each; the echo model: free). */
  async function admitted(key: string, n: number, model = 'o1'): Promise<number> {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: ANSWER_TOKENS }),
      });
      await r.arrayBuffer();
      if (r.status === 200) ok++;
    }
    return ok;
  }

  const ok = async (r: Promise<{ status: number; text: string }>) => {
    const answer = await r;
    expect(answer.status, answer.text).toBe(200);
  };
  const newKey = async (project: string, body: Record<string, unknown> = {}) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k', ...body } })).body as { id: string; value: string };
  const setKey = (keyId: string, body: Record<string, unknown>) => ok(t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${keyId}`, { body }));
  const newProject = async () => (await t.api('POST', `${ORG}/projects`, { body: { name: 'p' } })).body.id as string;

  it("a key's request quota: total, then month, then total again; and removed, then set again", async () => {
    const quota = (interval: string) => ({ request_quota: { max_requests: 10, interval } });
    const k = await newKey(t.defaultProjectId, quota('total'));
    expect(await admitted(k.value, 1, 'tollgate-echo')).toBe(1);
    await setKey(k.id, quota('month'));
    expect(await admitted(k.value, 12, 'tollgate-echo')).toBe(9);
    await setKey(k.id, quota('total'));
    expect(await admitted(k.value, 5, 'tollgate-echo')).toBe(0);

    const again = await newKey(t.defaultProjectId, quota('month'));
    expect(await admitted(again.value, 1, 'tollgate-echo')).toBe(1);
    await setKey(again.id, { request_quota: null });
    expect(await admitted(again.value, 12, 'tollgate-echo')).toBe(12);
    await setKey(again.id, quota('month'));
    expect(await admitted(again.value, 5, 'tollgate-echo')).toBe(0);
  }, 60_000);

  it("a key's spend limit: a month, then a day, then a month again", async () => {
    const limit = (interval: string) => ({ spend_limit: { threshold_amount: 300, interval } }); // $3: four answers
    const k = await newKey(t.defaultProjectId, limit('month'));
    expect(await admitted(k.value, 1)).toBe(1);
    await setKey(k.id, limit('day'));
    expect(await admitted(k.value, 5)).toBe(2);
    await setKey(k.id, limit('month'));
    expect(await admitted(k.value, 3)).toBe(0);
  }, 60_000);

  it("a project's spend limit: a month, then a week, then a month again; and removed, then set again", async () => {
    const p = await newProject();
    const k = await newKey(p);
    const limit = (interval: string) => ok(t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 300, currency: 'USD', interval } }));
    await limit('month');
    expect(await admitted(k.value, 1)).toBe(1);
    await limit('week');
    expect(await admitted(k.value, 5)).toBe(2);
    await limit('month');
    expect(await admitted(k.value, 3)).toBe(0);

    const q = await newProject();
    const inQ = await newKey(q);
    const limitQ = () => ok(t.api('POST', `${ORG}/projects/${q}/spend_limit`, { body: { threshold_amount: 300, currency: 'USD', interval: 'month' } }));
    await limitQ();
    expect(await admitted(inQ.value, 1)).toBe(1);
    await ok(t.api('DELETE', `${ORG}/projects/${q}/spend_limit`));
    expect(await admitted(inQ.value, 5)).toBe(5);
    await limitQ();
    expect(await admitted(inQ.value, 3)).toBe(0);
  }, 60_000);
}

describeEachDatabase('a quota or spend limit set back to an earlier interval, in the in-process store', (backend) => suite(backend));

describeWithRedis('a quota or spend limit set back to an earlier interval, on Redis', (redisUrl) => suite({ name: 'sqlite' }, redisUrl));
