import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RATE_LIMIT_UNLIMITED } from '../src/core/project-rate-limits.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The official `openai` npm package's admin methods for project rate limits, spend limits and spend alerts
// (client.admin.organization.projects.rateLimits / spendLimit / spendAlerts, and the organization's spendLimit and
// spendAlerts) end to end against Tollgate: the SDK's own paths, query serialisation and bodies, its types, and its
// cursor across pages with `for await`.

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'meta/llama-3.1', 'o3', 'o4-mini'];

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-sdk-limits-')), 'tollgate.config.json');
  writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: 'http://127.0.0.1:9', auth: 'none', models: MODELS }] }));
  return file;
}

describeEachDatabase("rate limits and spend through the openai npm package's admin methods", (backend) => {
  let t: TestServer;
  let org: OpenAI['admin']['organization'];
  beforeAll(async () => {
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: configFile() } });
    org = new OpenAI({ adminAPIKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 }).admin.organization;
  });
  afterAll(async () => t?.close());

  async function all<T>(pages: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of pages) out.push(item);
    return out;
  }

  it('rate limits: every model across pages, updated with every member (a model name with a slash too), a page before a cursor', async () => {
    const p = (await org.projects.create({ name: 'SDK rate limits' })).id;
    const rates = org.projects.rateLimits;
    const listed = await all(rates.listRateLimits(p, { limit: 2 }));
    expect(listed.map((r) => r.model)).toEqual(MODELS);
    expect(listed.every((r) => r.max_requests_per_1_minute === RATE_LIMIT_UNLIMITED && r.max_tokens_per_1_minute === RATE_LIMIT_UNLIMITED)).toBe(true);
    const limits = {
      max_requests_per_1_minute: 500,
      max_tokens_per_1_minute: 150_000,
      max_images_per_1_minute: 10,
      max_audio_megabytes_per_1_minute: 20,
      max_requests_per_1_day: 10_000,
      batch_1_day_max_input_tokens: 1_000_000,
    };
    const updated = await rates.updateRateLimit('rl-gpt-4o', { project_id: p, ...limits });
    expect(updated).toEqual({ object: 'project.rate_limit', id: 'rl-gpt-4o', model: 'gpt-4o', ...limits });
    const slashed = await rates.updateRateLimit('rl-meta/llama-3.1', { project_id: p, max_tokens_per_1_minute: 9 });
    expect(slashed).toMatchObject({ id: 'rl-meta/llama-3.1', model: 'meta/llama-3.1', max_tokens_per_1_minute: 9 });
    const again = await all(rates.listRateLimits(p, { limit: 3 }));
    expect(again.find((r) => r.model === 'gpt-4o')).toEqual(updated);
    const before = await rates.listRateLimits(p, { limit: 2, before: 'rl-o3' });
    expect(before.data.map((r) => r.model)).toEqual(['gpt-4o-mini', 'meta/llama-3.1']);
    const missing = await rates.updateRateLimit('rl-not-served', { project_id: p, max_requests_per_1_minute: 1 }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    await expect(rates.updateRateLimit('rl-o3', { project_id: p, max_requests_per_1_minute: 0 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("spend limits: a project's and the organization's, created or replaced, retrieved, deleted (then a 404)", async () => {
    const p = (await org.projects.create({ name: 'SDK spend limit' })).id;
    for (const limit of [
      { set: (b: OpenAI.Admin.Organization.SpendLimitUpdateParams) => org.projects.spendLimit.update(p, b), get: () => org.projects.spendLimit.retrieve(p), del: () => org.projects.spendLimit.delete(p), object: 'project.spend_limit' },
      { set: (b: OpenAI.Admin.Organization.SpendLimitUpdateParams) => org.spendLimit.update(b), get: () => org.spendLimit.retrieve(), del: () => org.spendLimit.delete(), object: 'organization.spend_limit' },
    ]) {
      await expect(limit.get()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const set = await limit.set({ threshold_amount: 10_000, currency: 'USD', interval: 'month' });
      expect(set).toMatchObject({ object: limit.object, threshold_amount: 10_000, currency: 'USD', interval: 'month', enforcement: { status: 'enforcing' } });
      expect(await limit.get()).toEqual(set);
      expect((await limit.set({ threshold_amount: 20_000, currency: 'USD', interval: 'month' })).threshold_amount).toBe(20_000);
      expect(await limit.del()).toMatchObject({ object: `${limit.object}.deleted`, deleted: true });
      await expect(limit.get()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(limit.set({ threshold_amount: 1, currency: 'EUR' as 'USD', interval: 'month' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    }
  });

  it("spend alerts: a project's and the organization's, created, listed in both orders across pages, retrieved, updated, deleted", async () => {
    const p = (await org.projects.create({ name: 'SDK spend alerts' })).id;
    const channel = { type: 'email' as const, recipients: ['finance@example.com'], subject_prefix: 'Spend' };
    const body = (threshold_amount: number) => ({ threshold_amount, currency: 'USD' as const, interval: 'month' as const, notification_channel: channel });
    const projectAlerts = org.projects.spendAlerts;
    type Alert = { id: string; object: string; threshold_amount: number };
    type Listing = AsyncIterable<Alert> & PromiseLike<{ data: Alert[] }>;
    const scopes: Array<{
      object: string;
      create: (n: number) => Promise<Alert>;
      list: (q: OpenAI.Admin.Organization.SpendAlertListParams) => Listing;
      retrieve: (id: string) => Promise<Alert>;
      update: (id: string, n: number) => Promise<Alert>;
      del: (id: string) => Promise<unknown>;
    }> = [
      {
        object: 'project.spend_alert',
        create: (n: number) => projectAlerts.create(p, body(n)),
        list: (q: OpenAI.Admin.Organization.SpendAlertListParams) => projectAlerts.list(p, q),
        retrieve: (id: string) => projectAlerts.retrieve(id, { project_id: p }),
        update: (id: string, n: number) => projectAlerts.update(id, { project_id: p, ...body(n) }),
        del: (id: string) => projectAlerts.delete(id, { project_id: p }),
      },
      {
        object: 'organization.spend_alert',
        create: (n: number) => org.spendAlerts.create(body(n)),
        list: (q: OpenAI.Admin.Organization.SpendAlertListParams) => org.spendAlerts.list(q),
        retrieve: (id: string) => org.spendAlerts.retrieve(id),
        update: (id: string, n: number) => org.spendAlerts.update(id, body(n)),
        del: (id: string) => org.spendAlerts.delete(id),
      },
    ];
    for (const s of scopes) {
      const made = [];
      for (const n of [100, 200, 300, 400, 500]) made.push(await s.create(n));
      expect(made[0]).toMatchObject({ object: s.object, threshold_amount: 100, currency: 'USD', interval: 'month', notification_channel: channel });
      const ids = made.map((a) => a.id);
      expect((await all(s.list({ limit: 2 }))).map((a) => a.id)).toEqual(ids);
      expect((await all(s.list({ limit: 2, order: 'desc' }))).map((a) => a.id)).toEqual([...ids].reverse());
      expect((await s.list({ limit: 2, before: ids[3] })).data.map((a) => a.id)).toEqual([ids[1], ids[2]]);
      expect(await s.retrieve(ids[2])).toEqual(made[2]);
      expect((await s.update(ids[2], 350)).threshold_amount).toBe(350);
      expect(await s.del(ids[0])).toEqual({ id: ids[0], object: `${s.object}.deleted`, deleted: true });
      await expect(s.retrieve(ids[0])).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      expect((await all(s.list({}))).map((a) => a.id)).toEqual(ids.slice(1));
    }
  });
});
