import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzureUpstream, startAzureUpstream } from './harness/azure-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// Azure runs the deployment its URL names, whatever the body says. Found by a review: a key allowed only gpt-4o-mini
// called `/v1/deployments/prod-gpt4o/chat/completions` (forwarded to the deployment as it stood, billed as the
// body's cheaper model, a stream unbilled); a deployment name sent as the model went past the model's limits, billed as
// unpriced; and Azure's `x-ms-deployment-name` and region headers told the client those names.

const ORG = '/v1/organization';

describe('an Azure provider with deployments', () => {
  let upstream: AzureUpstream;
  let t: TestServer;
  let seen: string[];

  beforeAll(async () => {
    upstream = await startAzureUpstream({ 'x-ms-deployment-name': 'prod-gpt4o', 'x-ms-region': 'East US', 'apim-request-id': 'a1', 'azureml-model-session': 's1' });
    seen = upstream.seen;
    const file = gatewayConfigFile({
      providers: [{ name: 'az', kind: 'azure-openai', base_url: upstream.url, api_key_env: 'AZ_KEY', api_version: '2024-10-21', deployments: { 'gpt-4o': 'prod-gpt4o', 'gpt-4o-mini': 'prod-mini' } }],
      default_provider: 'az',
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, AZ_KEY: 'az-provider-key' } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const keyWith = async (body: Record<string, unknown>) => (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'az', ...body } })).body.value as string;
  const post = (key: string, path: string, body: unknown) =>
    fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses a path that names a deployment itself, in any case, sending nothing', async () => {
    const key = await keyWith({ allowed_models: ['gpt-4o-mini'] });
    const before = seen.length;
    for (const path of ['/deployments/prod-gpt4o/chat/completions', '/Deployments/prod-gpt4o/chat/completions', '/deployments/prod-gpt4o/extensions/chat/completions', '/deployments']) {
      const res = await post(key, path, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('unknown_url');
    }
    expect(seen.length).toBe(before);
    // The key's own model, named: its deployment.
    expect((await post(key, '/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect(seen.at(-1)).toBe('/openai/deployments/prod-mini/chat/completions?api-version=2024-10-21');
  });

  it('reaches a mapped deployment by its model only; the deployment name as the model is unknown', async () => {
    const key = await keyWith({});
    const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const before = seen.length;
    for (const model of ['prod-gpt4o', 'PROD-GPT4O']) {
      const err = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect(seen.length).toBe(before);
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(seen.at(-1)).toBe('/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
    // The provider's deployment and region are not passed on.
    for (const name of ['x-ms-deployment-name', 'x-ms-region', 'apim-request-id', 'azureml-model-session']) expect(answer.response.headers.get(name), name).toBeNull();
    expect(answer.response.headers.get('x-request-id')).toMatch(/^req_/);
  });
});

// The Responses API (and its compaction) has no deployment in Azure's URL: Azure reads the body's model as the
// deployment. Found by a review: a mapped model went to `/openai/responses` as it was named (gpt-4o), which Azure
// answered DeploymentNotFound, or ran on another deployment that happened to be named so.
describe('an Azure provider with deployments, on paths without one', () => {
  let upstream: AzureUpstream;
  let t: TestServer;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    upstream = await startAzureUpstream();
    upstream.server.prependListener('request', (req) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c;
      });
      req.on('end', () => bodies.push(text === '' ? null : JSON.parse(text)));
    });
    const file = gatewayConfigFile({
      providers: [{ name: 'az', kind: 'azure-openai', base_url: upstream.url, api_key_env: 'AZ_KEY', api_version: '2025-04-01-preview', deployments: { 'gpt-4o': 'prod-gpt4o' } }],
      default_provider: 'az',
    });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, AZ_KEY: 'az-provider-key' } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it("sends the model's deployment as the body's model, and its usage is the model's", async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'az' } })).body as { id: string; value: string };
    for (const path of ['/responses', '/responses/compact']) {
      const res = await fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', input: 'hi' }) });
      expect(res.status, path).toBe(200);
      expect(upstream.seen.at(-1), path).toBe(`/openai${path}?api-version=2025-04-01-preview`);
      expect(bodies.at(-1), path).toEqual({ model: 'prod-gpt4o', input: 'hi' });
    }
    // A model with no deployment mapped is its own, as it was.
    await fetch(`${t.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'my-deploy', input: 'hi' }) });
    expect(bodies.at(-1)).toEqual({ model: 'my-deploy', input: 'hi' });
    const events = await usageEventsOf(t, key.id, 3);
    expect(events.map((e) => e.model)).toEqual(['gpt-4o', 'gpt-4o', 'my-deploy']);
  });
});
