import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareProxy } from '../bench/bare-proxy.js';
import { MODES, type Mode } from '../bench/chat-load.js';
import { ANTHROPIC_TEXT, OPENAI_TEXT, startFakeUpstream } from '../bench/fake-upstream.js';
import { sampleAnswers } from '../bench/flows-bench.js';
import { comparePassThrough, translationCosts } from '../bench/flows-report.js';
import { mergeReport } from '../bench/run.js';
import { writeWrkScript } from '../bench/wrk.js';
import type { FlowRun } from '../bench/flows-bench.js';
import { type Answer, CLAUDE_MODEL, checkAnswer, FLOW_NAMES, FLOWS, type Flow, flowsGatewayConfig, isNative, nativeFlowOf, OPENAI_MODEL, parseFlows } from '../bench/flows.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The flows bench (bench/flows.ts, issue 20 §4) measures only what it checks: each flow's requests reach the
// upstream API the flow names through Tollgate (and through the bare proxy for the native ones), and checkAnswer
// refuses an error, a wrong shape, a cut stream and an answer from the other upstream, so a misrouted flow stops the
// bench instead of being measured.

const KEY_ENV = 'BENCH_FLOWS_TEST_UPSTREAM_KEY';
const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

/** The answer of `url` to the flow's request in `mode`, sent as the flow's client sends it. */
async function ask(url: string, key: string, f: Flow, mode: Mode): Promise<Answer> {
  const headers: Record<string, string> =
    f.shape.keyHeader === 'Authorization' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
  const res = await fetch(url + f.path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: f.bodies[mode] });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('the flows', () => {
  it('each flow speaks its client API and names a model of its upstream', () => {
    expect(FLOW_NAMES.map((n) => [n, FLOWS[n].client, FLOWS[n].upstream, FLOWS[n].path, FLOWS[n].model, FLOWS[n].shape.keyHeader])).toEqual([
      ['openai', 'openai', 'openai', '/v1/chat/completions', OPENAI_MODEL, 'Authorization'],
      ['anthropic-native', 'anthropic', 'anthropic', '/v1/messages', CLAUDE_MODEL, 'x-api-key'],
      ['openai-to-anthropic', 'openai', 'anthropic', '/v1/chat/completions', CLAUDE_MODEL, 'Authorization'],
      ['anthropic-to-openai', 'anthropic', 'openai', '/v1/messages', OPENAI_MODEL, 'x-api-key'],
    ]);
    for (const f of Object.values(FLOWS)) {
      for (const mode of MODES) {
        const body = JSON.parse(f.bodies[mode]);
        expect(body.model).toBe(f.model);
        expect(body.stream === true).toBe(mode === 'stream');
        expect('max_tokens' in body).toBe(f.client === 'anthropic');
      }
    }
    expect(Object.values(FLOWS).filter(isNative).map((f) => f.name)).toEqual(['openai', 'anthropic-native']);
    expect(nativeFlowOf(FLOWS['openai-to-anthropic'], 'upstream').name).toBe('anthropic-native');
    expect(nativeFlowOf(FLOWS['openai-to-anthropic'], 'client').name).toBe('openai');
    expect(nativeFlowOf(FLOWS['anthropic-to-openai'], 'upstream').name).toBe('openai');
  });

  it('BENCH_FLOWS picks flows by name, all of them by default, and refuses an unknown one', () => {
    expect(parseFlows(undefined).map((f) => f.name)).toEqual(FLOW_NAMES);
    expect(parseFlows(' anthropic-to-openai , anthropic-native').map((f) => f.name)).toEqual(['anthropic-native', 'anthropic-to-openai']);
    expect(() => parseFlows('anthropic,openai')).toThrow(/unknown flows \(anthropic\)/);
  });

  it('translation costs compare each translated flow with the native flows, pass-through with the bare proxy', () => {
    const run = (flow: FlowRun['flow'], target: FlowRun['target'], rps: number, cpu: number, p50: number): FlowRun => ({
      flow,
      target,
      mode: 'non-stream',
      connections: 32,
      keys: 1,
      keyKind: 'plain',
      requests: rps * 5,
      rps,
      p50Us: p50,
      p90Us: p50,
      p99Us: p50,
      maxUs: p50,
      errors: 0,
      cpuUsPerRequest: cpu,
      otherLoadPct: 0,
      roundsRps: [rps],
    });
    const runs = [
      run('openai', 'bare-proxy', 8000, 100, 3000),
      run('openai', 'tollgate', 6000, 150, 4000),
      run('anthropic-native', 'bare-proxy', 8000, 100, 3000),
      run('anthropic-native', 'tollgate', 5000, 160, 4200),
      run('openai-to-anthropic', 'tollgate', 4000, 210, 5000),
    ];
    expect(translationCosts(runs)).toEqual([
      { flow: 'openai-to-anthropic', against: 'anthropic-native', same: 'upstream', mode: 'non-stream', connections: 32, addedCpuUs: 50, addedCpuRangeUs: null, addedP50Us: 800, throughputRatio: 0.8 },
      { flow: 'openai-to-anthropic', against: 'openai', same: 'client', mode: 'non-stream', connections: 32, addedCpuUs: 60, addedCpuRangeUs: null, addedP50Us: 1000, throughputRatio: 0.667 },
    ]);
    // With every round's CPU kept, the differences are paired by round (a slow spell hits both runs of a round).
    const paired = [
      { ...runs[3], roundsCpuUs: [160, 240, 170] },
      { ...runs[4], roundsCpuUs: [210, 300, 205] },
    ];
    expect(translationCosts(paired)).toEqual([expect.objectContaining({ against: 'anthropic-native', addedCpuUs: 50, addedCpuRangeUs: [35, 60] })]);
    expect(comparePassThrough(runs).map((c) => [c.flow, c.cpuRatio, c.throughputRatio])).toEqual([
      ['openai', 1.5, 0.75],
      ['anthropic-native', 1.6, 0.625],
    ]);
  });
});

describe('the load scripts', () => {
  it("send the key as each flow's client does: a bearer token for OpenAI's, x-api-key and anthropic-version for Anthropic's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-wrk-'));
    try {
      const lua = (f: Flow) => readFileSync(writeWrkScript(dir, f.name, f.bodies.stream, ['sk-tg-one'], f.shape), 'utf8');
      const anthropic = lua(FLOWS['anthropic-to-openai']);
      expect(anthropic).toContain('wrk.headers["anthropic-version"] = "2023-06-01"');
      expect(anthropic).toContain('wrk.headers["x-api-key"] = keys[');
      expect(anthropic).toContain('  "sk-tg-one",');
      expect(anthropic).not.toContain('Bearer');
      const openai = lua(FLOWS['openai-to-anthropic']);
      expect(openai).toContain('wrk.headers["Authorization"] = keys[');
      expect(openai).toContain('  "Bearer sk-tg-one",');
      expect(openai).not.toContain('anthropic-version');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('latest.md', () => {
  it("replaces the sections that ran, keeps the others, in the bench's order", () => {
    const previous = '# Tollgate bench\n\n## Gateway\n\nold gateway\n\n### Targets\n\nrows\n\n## Flows: old\n\nold flows\n\n## Scanner\n\nold scan\n';
    expect(mergeReport(previous, { flows: '## Flows: new\n\nnew flows\n' })).toBe(
      '# Tollgate bench\n\n## Gateway\n\nold gateway\n\n### Targets\n\nrows\n\n## Flows: new\n\nnew flows\n\n## Scanner\n\nold scan\n',
    );
    expect(mergeReport('', { sizing: '## Sizing\n\nx', flows: '## Flows\n\ny' })).toBe('# Tollgate bench\n\n## Flows\n\ny\n\n## Sizing\n\nx\n');
  });
});

describe('answers, checked against the fake upstream itself', () => {
  let upstream: Server;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterAll(async () => new Promise<void>((r) => upstream.close(() => r())));

  it("the upstream's own answers pass for the native flows, buffered and streamed", async () => {
    for (const f of [FLOWS.openai, FLOWS['anthropic-native']]) {
      for (const mode of MODES) expect(checkAnswer(f, mode, await ask(origin(upstream), 'sk-any', f, mode)), `${f.name} ${mode}`).toEqual([]);
    }
  });

  it("an answer from the other upstream is refused: a misrouted flow would be caught", async () => {
    // The translated flows' requests sent straight to the upstream are answered by the client's API, not the flow's upstream's.
    for (const f of [FLOWS['openai-to-anthropic'], FLOWS['anthropic-to-openai']]) {
      for (const mode of MODES) {
        const problems = checkAnswer(f, mode, await ask(origin(upstream), 'sk-any', f, mode));
        const [want, got] = f.upstream === 'anthropic' ? [ANTHROPIC_TEXT, OPENAI_TEXT] : [OPENAI_TEXT, ANTHROPIC_TEXT];
        expect(problems, `${f.name} ${mode}`).toContain(`text ${JSON.stringify(got)}, not the ${f.upstream} upstream's ${JSON.stringify(want)}`);
      }
    }
  });

  it('an error, a wrong shape, a cut stream or wrong usage is refused', async () => {
    const f = FLOWS['anthropic-native'];
    expect(checkAnswer(f, 'non-stream', { status: 401, contentType: 'application/json', body: '{"type":"error"}' })[0]).toMatch(/^status 401/);
    // The Messages API refuses a request without anthropic-version, as Anthropic does (the fake checks it).
    const res = await fetch(`${origin(upstream)}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: f.bodies['non-stream'] });
    expect(checkAnswer(f, 'non-stream', { status: res.status, contentType: '', body: await res.text() })[0]).toMatch(/^status 400.*anthropic-version/);
    const chat = await ask(origin(upstream), 'k', FLOWS.openai, 'non-stream');
    expect(checkAnswer(f, 'non-stream', chat)[0]).toMatch(/not a anthropic non-stream answer/);
    const stream = await ask(origin(upstream), 'k', f, 'stream');
    const cut = { ...stream, body: stream.body.slice(0, stream.body.indexOf('event: message_delta')) };
    expect(checkAnswer(f, 'stream', cut)).toContain('the answer did not end normally');
    const buffered = await ask(origin(upstream), 'k', f, 'non-stream');
    const noUsage = { ...buffered, body: buffered.body.replace('"output_tokens":9', '"output_tokens":0') };
    expect(checkAnswer(f, 'non-stream', noUsage)).toContain('output tokens 0, not 9');
    const chatStream = await ask(origin(upstream), 'k', FLOWS.openai, 'stream');
    expect(checkAnswer(FLOWS.openai, 'stream', { ...chatStream, body: chatStream.body.replace('data: [DONE]', '') })[0]).toMatch(/not data: \[DONE\]/);
  });
});

describe('every flow through Tollgate and the bare proxy, as the bench configures them', () => {
  let upstream: Server;
  let bare: Server;
  const servers: TestServer[] = [];
  const dirs: string[] = [];

  /** Tollgate with the bench's gateway config (or `edit` of it), and a key. */
  async function tollgate(edit: (c: Record<string, unknown>) => Record<string, unknown> = (c) => c): Promise<{ t: TestServer; key: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-flows-'));
    dirs.push(dir);
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(file, JSON.stringify(edit(flowsGatewayConfig(origin(upstream), KEY_ENV))));
    const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, [KEY_ENV]: 'sk-bench-upstream-test' } });
    servers.push(t);
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'bench' } })).body.value as string;
    return { t, key };
  }

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    bare = await startBareProxy(origin(upstream));
  });
  afterAll(async () => {
    for (const t of servers) await t.close();
    await new Promise<void>((r) => bare.close(() => r()));
    await new Promise<void>((r) => upstream.close(() => r()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('Tollgate answers every flow from the upstream API the flow names, buffered and streamed; the bare proxy the native ones', async () => {
    const { t, key } = await tollgate();
    for (const f of Object.values(FLOWS)) {
      for (const mode of MODES) {
        await expect(sampleAnswers(t.url, key, f, mode, 2), `${f.name} ${mode} via Tollgate`).resolves.toBe(2);
        if (isNative(f)) await expect(sampleAnswers(origin(bare), key, f, mode, 1), `${f.name} ${mode} via the bare proxy`).resolves.toBe(1);
      }
    }
  });

  it('the bare proxy with a keys file lets through only those keys (SHA-256 and a Map), by Bearer or x-api-key', async () => {
    const checking = await startBareProxy(origin(upstream), 0, ['sk-bare-good']);
    try {
      await expect(sampleAnswers(origin(checking), 'sk-bare-good', FLOWS.openai, 'non-stream', 1)).resolves.toBe(1);
      await expect(sampleAnswers(origin(checking), 'sk-bare-good', FLOWS['anthropic-native'], 'stream', 1)).resolves.toBe(1);
      const refused = await fetch(`${origin(checking)}${FLOWS.openai.path}`, { method: 'POST', headers: { authorization: 'Bearer sk-bare-bad', 'content-type': 'application/json' }, body: FLOWS.openai.bodies['non-stream'] });
      expect(refused.status).toBe(401);
      await expect(sampleAnswers(origin(checking), 'sk-bare-bad', FLOWS.openai, 'non-stream', 1)).rejects.toThrow();
    } finally {
      await new Promise<void>((r) => checking.close(() => r()));
    }
  });

  it('a config that routes Claude models to the OpenAI-compatible provider fails the Claude flows', async () => {
    const { t, key } = await tollgate((c) => ({ ...c, routes: { 'claude-*': 'openai', 'gpt-*': 'openai' } }));
    await expect(sampleAnswers(t.url, key, FLOWS['openai-to-anthropic'], 'non-stream', 1)).rejects.toThrow(/text "Hello! How can I help you today\?", not the anthropic upstream's/);
    await expect(sampleAnswers(t.url, key, FLOWS['anthropic-native'], 'stream', 1)).rejects.toThrow(/answered the anthropic-native flow's stream request wrongly/);
    await expect(sampleAnswers(t.url, key, FLOWS.openai, 'stream', 1)).resolves.toBe(1);
  });
});
