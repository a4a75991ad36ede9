import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AzureUpstream, startAzureUpstream } from './harness/azure-upstream.js';
import { describeEachDatabase } from './harness/backends.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An Azure OpenAI provider addresses a model through its deployment's path (`/openai/deployments/{model}/…`). The model
// `..` (or `.`), which encodeURIComponent leaves as it is, made that path `/openai/deployments/../chat/completions`:
// once the provider's front end resolves the dot segment, a path of the provider's other than the deployment the key
// was meant to reach, called with the provider's key. Such a model is now refused as unknown, in the client's API's
// shape, before anything is sent; and a config or runtime provider cannot name such a deployment.

const ORG = '/v1/organization';

describeEachDatabase('an Azure provider and models that would be dot segments of its deployment path', (backend) => {
  let upstream: AzureUpstream;
  let t: TestServer;
  let seen: string[];

  beforeAll(async () => {
    upstream = await startAzureUpstream();
    seen = upstream.seen;
    const file = gatewayConfigFile({ providers: [{ name: 'az', kind: 'azure-openai', base_url: upstream.url, api_key_env: 'AZ_KEY', api_version: '2024-10-21' }], default_provider: 'az' });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, AZ_KEY: 'az-provider-key' } });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('refuses `..`, `.` and any model that is no deployment name as unknown (404) in OpenAI\'s and Anthropic\'s shapes, sending nothing upstream and opening no breaker', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'az' } })).body as { id: string; value: string };
    const client = new OpenAI({ apiKey: key.value, baseURL: `${t.url}/v1`, maxRetries: 0 });
    // Reached as a deployment of its own (the control: the same path works for a real model).
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(seen).toEqual(['/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21']);
    for (const model of ['..', '.', 'gpt-4o/../../files']) {
      const err = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
      // Translated from Anthropic's Messages API to the Azure provider: refused alike, in Anthropic's shape.
      const res = await fetch(`${t.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key.value, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    }
    expect(seen).toHaveLength(1);
    // Refusals are not the provider failing: however many, its circuit breaker stays closed for everyone.
    for (let i = 0; i < 10; i++) await client.chat.completions.create({ model: '..', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(seen).toHaveLength(2);
    // Metered as refused, never billed.
    await t.server.gateway.usage.flush();
    const rows = await t.server.runtime.database.db.selectFrom('usage_events').select(['model', 'outcome', 'status', 'error_code', 'cost_nanousd']).where('api_key_id', '=', key.id).execute();
    expect(rows.filter((r) => r.outcome === 'refused').map((r) => [r.status, r.error_code, Number(r.cost_nanousd)])).toEqual(Array(16).fill([404, 'model_not_found', 0]));
  });

  it('refuses a provider whose deployment would be such a segment, at run time as in the config', async () => {
    for (const deployment of ['..', '.']) {
      const created = await t.api('POST', `${ORG}/providers`, { body: { name: 'az-dots', kind: 'azure-openai', base_url: 'https://az.example', api_version: '2024-10-21', deployments: { 'gpt-4o': deployment } } });
      expect(created.status).toBe(400);
      expect(created.body.error).toMatchObject({ code: 'invalid_value' });
    }
    const ok = await t.api('POST', `${ORG}/providers`, { body: { name: 'az-dots', kind: 'azure-openai', base_url: 'https://az.example', api_version: '2024-10-21', deployments: { 'gpt-4o': 'prod.4o..v2' } } });
    expect(ok.status).toBe(200);
    await t.api('DELETE', `${ORG}/providers/${(ok.body as { id: string }).id}`);
  });
});
