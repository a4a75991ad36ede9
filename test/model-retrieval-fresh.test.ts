import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeObjectsUpstream, startFakeObjectsUpstream } from './harness/fake-objects-upstream.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// GET /v1/models and /v1/models/{model} answer from each instance's copy of the provider's list, read once a minute. A
// fine-tuned model the project could already call was 404 model_not_found on models.retrieve for up to a minute after
// its job succeeded (found by a review). A model missing from the copy now has the provider's list read again first, at
// most once every few seconds per provider (a flood of unknown names does not reach the provider), and only for a
// model the key may see (its allowlist; a fine-tuned model of its own project). And such a 404 was recorded as 200 ok.

const ORG = '/v1/organization';

describe('a model retrieved that the cached list lacks', () => {
  let t: TestServer;
  let up: FakeObjectsUpstream;
  let projectA: string;
  let keyA: { id: string; value: string };
  let keyB: { id: string; value: string };
  let narrow: { id: string; value: string };

  beforeAll(async () => {
    up = await startFakeObjectsUpstream();
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: 'sk-provider' } });
    projectA = (await t.api('POST', `${ORG}/projects`, { body: { name: 'A' } })).body.id;
    const projectB = (await t.api('POST', `${ORG}/projects`, { body: { name: 'B' } })).body.id;
    const key = async (project: string, body: Record<string, unknown> = {}) => (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'k', ...body } })).body;
    keyA = await key(projectA);
    keyB = await key(projectB);
    narrow = await key(projectA, { allowed_models: ['gpt-4o-mini'] });
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  const listAsks = () => up.seen.filter((s) => s.method === 'GET' && s.url.split('?')[0] === '/v1/models').length;
  const client = (key: string) => new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });

  it('a fine-tuned model is retrievable (and listed) as soon as its job has succeeded, not a minute later', async () => {
    const a = client(keyA.value);
    // The list is read and kept before the model exists.
    const before = await a.models.list();
    expect(before.data.some((m) => m.id.startsWith('ft:'))).toBe(false);
    const training = await a.files.create({ file: await toFile(Buffer.from('{"messages":[]}\n'), 'train.jsonl'), purpose: 'fine-tune' });
    const job = await a.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: training.id });
    const done = await a.fineTuning.jobs.retrieve(job.id);
    expect(done.status).toBe('succeeded');
    const tuned = done.fine_tuned_model as string;
    const model = await a.models.retrieve(tuned);
    expect(model.id).toBe(tuned);
    expect((await a.models.list()).data.map((m) => m.id)).toContain(tuned);

    // Another project never sees it, and its asking does not make the provider's list be read.
    const asks = listAsks();
    const err = await client(keyB.value).models.retrieve(tuned).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    // Nor does a key whose allowlist leaves the model out.
    const refused = await client(narrow.value).models.retrieve(tuned).catch((e: unknown) => e);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    expect(listAsks()).toBe(asks);
  });

  it('one recorded elsewhere (another instance, an operator) is found by reading the provider\'s list again', async () => {
    const a = client(keyA.value);
    await a.models.list();
    // Made at the provider and assigned to the project by an operator: this instance's list knows nothing of it.
    const made = up.seed('models', { owned_by: 'org' });
    expect((await t.api('POST', `${ORG}/projects/${projectA}/upstream_objects`, { body: { id: made.id, type: 'model' } })).status).toBe(200);
    const asks = listAsks();
    expect((await a.models.retrieve(made.id)).id).toBe(made.id);
    expect(listAsks()).toBe(asks + 1);
    expect((await a.models.list()).data.map((m) => m.id)).toContain(made.id);
  });

  it("a flood of unknown names reads the provider's list at most once every few seconds", async () => {
    const a = client(keyA.value);
    // Past the floor since the last read (a test of its own: the first may have read just now).
    await new Promise((r) => setTimeout(r, 5_100));
    const asks = listAsks();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => a.models.retrieve(`gpt-nope-${i}`).catch((e: unknown) => e)));
    for (const e of answers) expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    const more = await Promise.all(Array.from({ length: 10 }, (_, i) => a.models.retrieve(`gpt-nope-again-${i}`).catch((e: unknown) => e)));
    for (const e of more) expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    expect(listAsks() - asks).toBe(1);
  }, 15_000);

  it('a model not found is recorded as refused, model_not_found, not as 200 ok', async () => {
    const key = (await t.api('POST', `${ORG}/projects/${projectA}/api_keys`, { body: { name: 'usage' } })).body as { id: string; value: string };
    const err = await client(key.value).models.retrieve('gpt-never-heard-of').catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    const [row] = await usageEventsOf(t, key.id);
    expect(row).toMatchObject({ status: 404, outcome: 'refused', error_code: 'model_not_found', billable: 0 });
  });
});
