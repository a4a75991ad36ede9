import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Claude's code execution tool (and Agent Skills, which run in it) works in a container Anthropic makes for the request
// and names in its answer; the client passes that id back as `container` on its next turn. Found by a review: the
// container was never recorded as the project's, so Tollgate refused that next turn (404 not_found_error) for the very
// project that made it. A container an answer names is now its project's, recorded before the answer goes on.

const BETA = { headers: { 'anthropic-beta': 'code-execution-2025-08-25' } };
const TOOLS = [{ type: 'code_execution_20250825' as const, name: 'code_execution' as const }];

/** A fake Anthropic that makes a container for a request running code, or keeps the one named, as Anthropic does. */
async function startContainers(): Promise<{ server: Server; url: string; seen: Array<Record<string, unknown>>; made: string[] }> {
  const seen: Array<Record<string, unknown>> = [];
  const made: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    seen.push(body);
    const named = typeof body.container === 'string' ? body.container : (body.container as { id?: string } | undefined)?.id;
    const runsCode = Array.isArray(body.tools) && body.tools.some((t) => String((t as { type?: unknown }).type).startsWith('code_execution_'));
    if (runsCode && !named) made.push(`container_011CMade${String(made.length + 1).padStart(4, '0')}`);
    const container = runsCode ? { id: named ?? made.at(-1), expires_at: '2099-01-01T00:00:00Z', skills: null } : null;
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, container: null };
    if (body.stream === true) {
      // The container comes in message_delta (message_start's is null), as in a stream whose code ran after it began.
      const events = [
        { type: 'message_start', message: { ...message, usage: { input_tokens: 10, output_tokens: 1 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ran it' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null, container }, usage: { output_tokens: 5 } },
        { type: 'message_stop' },
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return res.end(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...message, content: [{ type: 'text', text: 'ran it' }], stop_reason: 'end_turn', container, usage: { input_tokens: 10, output_tokens: 5 } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, made };
}

describeEachDatabase("containers Anthropic makes for a project's messages are that project's", (backend) => {
  let up: Awaited<ReturnType<typeof startContainers>>;
  let t: TestServer;
  let a: string;
  let b: string;
  let projectA: string;
  const client = (apiKey: string) => new Anthropic({ apiKey, baseURL: t.url, maxRetries: 0 });
  const create = (key: string, more: Record<string, unknown> = {}) =>
    client(key).beta.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: TOOLS, messages: [{ role: 'user', content: 'run it' }], ...more }, BETA);
  /** The container a streamed answer names. */
  const streamed = async (key: string, more: Record<string, unknown> = {}) => {
    const stream = await client(key).beta.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: 100, tools: TOOLS, messages: [{ role: 'user', content: 'run it' }], stream: true, ...more },
      BETA,
    );
    let id: string | null = null;
    for await (const event of stream) if (event.type === 'message_delta' && event.delta.container) id = event.delta.container.id;
    return id;
  };
  const refused = async (key: string, container: unknown) => {
    const forwarded = up.seen.length;
    const err = await create(key, { container }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(up.seen.length).toBe(forwarded);
  };

  beforeAll(async () => {
    up = await startContainers();
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-containers-')), 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'ant', kind: 'anthropic', base_url: up.url, api_key_env: 'ANT_KEY' }], routes: { 'claude-*': 'ant' } }));
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, ANT_KEY: 'sk-ant-provider' } });
    const project = async (name: string) => (await t.api('POST', '/v1/organization/projects', { body: { name } })).body.id as string;
    const key = async (projectId: string) => (await t.api('POST', `/v1/organization/projects/${projectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
    projectA = await project('A');
    a = await key(projectA);
    b = await key(await project('B'));
  });
  afterAll(async () => {
    await t?.close();
    up?.server.close();
  });

  it('a container named in a whole answer is reused by its project, and not found for another', async () => {
    const id = (await create(a)).container?.id as string;
    expect(id).toMatch(/^container_011CMade/);

    const forwarded = up.seen.length;
    expect((await create(a, { container: id })).container?.id).toBe(id);
    expect((await create(a, { container: { id, skills: [] } })).container?.id).toBe(id);
    expect(up.seen.length).toBe(forwarded + 2);
    expect(up.seen.at(-1)?.container).toEqual({ id, skills: [] });

    await refused(b, id);
    await refused(b, { id, skills: [] });
  });

  it("Anthropic's own skills load into a new container, and the container is its project's", async () => {
    const skills = [{ type: 'anthropic' as const, skill_id: 'pptx', version: 'latest' }];
    const id = (await create(a, { container: { skills } })).container?.id as string;
    expect(id).toMatch(/^container_011CMade/);
    expect(up.seen.at(-1)?.container).toEqual({ skills });
    expect((await create(a, { container: { id, skills } })).container?.id).toBe(id);
    await refused(b, { id, skills });
  });

  it('a container named in a stream is recorded before message_delta reaches the client', async () => {
    const id = (await streamed(a)) as string;
    expect(id).toMatch(/^container_011CMade/);
    expect(await streamed(a, { container: id })).toBe(id);
    expect((await create(a, { container: id })).container?.id).toBe(id);
    await refused(b, id);
  });

  it('a key restricted to the Messages API reuses its container: a part of its messages, not of OpenAI\'s containers', async () => {
    const restricted = await t.api('POST', `/v1/organization/projects/${projectA}/api_keys`, { body: { name: 'm', permissions: { restricted: { messages: 'write' } } } });
    const key = restricted.body.value as string;
    const id = (await create(key)).container?.id as string;
    expect((await create(key, { container: id })).container?.id).toBe(id);
    await refused(key, (await create(b)).container?.id);
  });

  it('a container that cannot be recorded never reaches the client', async () => {
    await sql`drop table upstream_objects`.execute(t.server.runtime.database.db);
    const whole = await create(a).then(
      () => null,
      (e: unknown) => e,
    );
    expect(whole).toBeInstanceOf(Anthropic.InternalServerError);
    expect(JSON.stringify((whole as InstanceType<typeof Anthropic.APIError>).error)).toContain(up.made.at(-1));

    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': a, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: TOOLS, messages: [{ role: 'user', content: 'run it' }], stream: true }),
    });
    // Cut with an error event at the latest before the event that names it.
    const text = await res.text();
    expect(text).toContain('event: error');
    expect(text).not.toContain('container_011C');
  });
});
