import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzureUpstream, startAzureUpstream } from './harness/azure-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Azure resolves deployment names without regard to case, and a model without a deployment mapped to it is its own
// deployment name. Found by a review: with a project limited to 1 request a minute on gpt-4o, `GPT-4o`, `gpt-4O`, …
// were answered 200 past the limit (each spelling its own bucket), billed as unpriced models at $0.

const ORG = '/v1/organization';

describe('an Azure model named in another case', () => {
  let upstream: AzureUpstream;
  let t: TestServer;

  beforeAll(async () => {
    upstream = await startAzureUpstream();
    const file = gatewayConfigFile({
      providers: [{ name: 'az', kind: 'azure-openai', base_url: upstream.url, api_key_env: 'AZ_KEY', api_version: '2024-10-21' }],
      default_provider: 'az',
      pricing: { 'Team-Model': { input: 1, output: 1 } },
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, AZ_KEY: 'az-provider-key' } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  async function projectKey(limits: Record<string, Record<string, number>>, key: Record<string, unknown> = {}) {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: `p-${Math.random()}` } })).body as { id: string };
    for (const [model, limit] of Object.entries(limits)) {
      const res = await t.api('POST', `${ORG}/projects/${project.id}/rate_limits`, { body: { model, ...limit } });
      expect(res.status, res.text).toBe(200);
    }
    const created = (await t.api('POST', `${ORG}/projects/${project.id}/api_keys`, { body: { name: 'k', ...key } })).body as { id: string; value: string };
    return { ...created, client: new OpenAI({ apiKey: created.value, baseURL: `${t.url}/v1`, maxRetries: 0 }) };
  }
  const chat = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

  it("refuses another spelling of a limited model once the limit is hit, and before: it is the same deployment", async () => {
    const k = await projectKey({ 'gpt-4o': { max_requests_per_1_minute: 1 } });
    const before = upstream.seen.length;
    for (const model of ['GPT-4o', 'gpt-4O', 'Gpt-4o-2024-08-06']) {
      const err = (await chat(k.client, model).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err, model).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err.code, model).toBe('model_not_found');
      expect(err.message, model).toContain("'gpt-4o");
    }
    expect(upstream.seen.length).toBe(before);
    await chat(k.client, 'gpt-4o');
    expect(upstream.seen.at(-1)).toBe('/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
    expect(await chat(k.client, 'gpt-4o').catch((e: unknown) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    expect(await chat(k.client, 'GPT-4O').catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(upstream.seen.length).toBe(before + 1);
  });

  it('refuses another spelling of a model only a project limit names', async () => {
    const k = await projectKey({ 'team-deploy': { max_requests_per_1_minute: 5 } });
    const err = (await chat(k.client, 'Team-Deploy').catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.message).toContain("'team-deploy'");
  });

  it('refuses another spelling of a priced model to a key without limits, and bills the exact one at its price', async () => {
    const k = await projectKey({});
    const before = upstream.seen.length;
    for (const model of ['GPT-4o-mini', 'team-model']) expect(await chat(k.client, model).catch((e: unknown) => e), model).toBeInstanceOf(OpenAI.NotFoundError);
    expect(upstream.seen.length).toBe(before);
    await chat(k.client, 'Team-Model');
    // The refusals are recorded too (refused, unbilled).
    const events = await usageEventsOf(t, k.id, 3);
    expect(events.filter((e) => e.outcome === 'refused').map((e) => e.model)).toEqual(['GPT-4o-mini', 'team-model']);
    const e = events.find((x) => x.outcome === 'ok') as Record<string, unknown>;
    expect(e).toMatchObject({ model: 'Team-Model', unpriced: 0 });
    expect(Number(e.cost_nanousd)).toBe(3 * 1000 + 1 * 1000);
  });

  it('takes a deployment name no configured name spells otherwise, capitals and all', async () => {
    const k = await projectKey({ 'gpt-4o': { max_requests_per_1_minute: 100 } });
    await chat(k.client, 'My-Custom-Deployment');
    expect(upstream.seen.at(-1)).toBe('/openai/deployments/My-Custom-Deployment/chat/completions?api-version=2024-10-21');
  });
});
