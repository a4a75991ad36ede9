import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { databaseUrlFor, describeEachDatabase } from './harness/backends.js';
import { type KeyedUpstream, startKeyedUpstream } from './harness/keyed-upstream.js';
import { startTestServer, type TestServer } from './harness/server.js';

// `tollgate providers …` on the local data dir (the admin routes in process), beside a running server that learns of
// each change through the change feed: the key is read from stdin or the terminal and never printed.

const SERVER_SECRET = 'cli-providers-test-server-secret-0123456789';
const KEY_1 = 'sk-cli-provider-key-one-0123456789abcdefONE1';
const KEY_2 = 'sk-cli-provider-key-two-0123456789abcdefTWO2';

describeEachDatabase('providers CLI', (backend) => {
  let t: TestServer;
  let up: KeyedUpstream;
  let env: Record<string, string | undefined>;
  let projectKey: string;
  const printed: string[] = [];

  async function cli(stdin: string | null, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], {
      env,
      out: (s) => (out += s),
      err: (s) => (err += s),
      ...(stdin !== null ? { readStdin: async () => stdin } : {}),
      promptHidden: async () => KEY_2,
    });
    printed.push(out, err);
    return { code, out, err };
  }
  const chat = async () => {
    up.keys.length = 0;
    await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cli-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    return up.keys[0] ?? null;
  };
  const eventually = async (check: () => Promise<boolean>) => {
    // A correctness bound (the change feed's poll), with room for a loaded machine.
    const deadline = performance.now() + 20_000;
    while (!(await check())) {
      if (performance.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    up = await startKeyedUpstream([KEY_1, KEY_2]);
    t = await startTestServer(backend, { env: { TOLLGATE_SECRET: SERVER_SECRET } });
    env = { TOLLGATE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', TOLLGATE_SECRET: SERVER_SECRET, DATABASE_URL: databaseUrlFor(backend, t.schema) };
    projectKey = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'cli' } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    await up?.close();
  });

  it('creates a provider, adds a key from stdin, rotates it from the terminal, disables, enables and deletes, never printing the key', async () => {
    const created = await cli(null, 'providers', 'create', 'clip', '--base-url', `${up.url}/v1`, '--model', 'cli-model', '--json');
    expect(created.code).toBe(0);
    const provider = JSON.parse(created.out);
    expect(provider).toMatchObject({ object: 'organization.provider', name: 'clip', models: ['cli-model'] });
    const added = await cli(`${KEY_1}\n`, 'providers', 'credentials', 'add', 'clip', '--value-stdin', '--weight', '2');
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^Added key sk-cli-…ONE1 \(pcred_[A-Za-z0-9]+\) to prov_/);
    const credId = /\((pcred_[A-Za-z0-9]+)\)/.exec(added.out)?.[1] as string;
    await eventually(async () => (await chat()) === KEY_1);

    const listed = await cli(null, 'providers', 'credentials', 'list', 'clip');
    expect(listed.out).toMatch(new RegExp(`${credId}\\s+sk-cli-…ONE1\\s+2\\s+active`));
    const rotated = await cli(null, 'providers', 'credentials', 'rotate', provider.id, credId);
    expect(rotated.out).toBe(`Replaced key ${credId}: now sk-cli-…TWO2.\n`);
    await eventually(async () => (await chat()) === KEY_2);

    expect((await cli(null, 'providers', 'credentials', 'disable', 'clip', credId)).out).toContain('Disabled');
    // Its one key disabled: requests for its model are refused (503), nothing is sent.
    await eventually(async () => (await chat()) === null);
    expect((await cli(null, 'providers', 'credentials', 'enable', 'clip', credId)).out).toContain('Enabled');
    await eventually(async () => (await chat()) === KEY_2);
    expect((await cli(null, 'providers', 'list')).out).toMatch(/clip\s+openai\s+http:\/\/127\.0\.0\.1:\d+\/v1\s+cli-model/);
    expect((await cli(null, 'providers', 'credentials', 'delete', 'clip', credId)).code).toBe(0);
    expect((await cli(null, 'providers', 'delete', 'clip')).out).toBe(`Deleted provider ${provider.id} and its keys.\n`);
    expect((await cli(null, 'providers', 'credentials', 'list', 'clip')).err).toMatch(/No runtime provider named clip/);

    const all = printed.join('\n');
    expect(all).not.toContain(KEY_1);
    expect(all).not.toContain(KEY_2);
    const audit = await t.api('GET', '/v1/organization/audit_logs?event_types=provider_credential.rotated');
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]['provider_credential.rotated']).toMatchObject({ data: { previous_redacted_value: 'sk-cli-…ONE1', redacted_value: 'sk-cli-…TWO2' } });
  });

  it('refuses an empty stdin and a name the API refuses, with the API message', async () => {
    await cli(null, 'providers', 'create', 'empty', '--base-url', `${up.url}/v1`);
    const r = await cli('\n', 'providers', 'credentials', 'add', 'empty', '--value-stdin');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/standard input holds no key/);
    const clash = await cli(null, 'providers', 'create', 'empty', '--base-url', `${up.url}/v1`);
    expect(clash.code).toBe(1);
    expect(clash.err).toMatch(/already exists\. \(conflict\)/);
    await cli(null, 'providers', 'delete', 'empty');
  });
});
