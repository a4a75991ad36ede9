import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer, usageEventsOf } from './harness/server.js';

// A spoken answer streamed by a chat model (gpt-4o-audio-preview, `modalities: ["text", "audio"]`) whose client hung up
// before its usage chunk was cut where its client left and billed only its transcript, at the text rate: out 28,
// audio 0, $0.0003675 against the $0.01635 the provider bills (230 output tokens, 200 of them audio at $80/M); on a
// $0.05 hard cap, 8 such calls were admitted and recorded $0.003 (found by a review). A request asking for audio is
// now read on to its usage; one that cannot be (cut by the gateway, broken off by the provider) is billed the audio it
// delivered as audio output, never its transcript at the text rate.

const ORG = '/v1/organization';
const CHUNKS = 10;
/** One second of pcm16 at 24 kHz, mono: what each chunk carries. */
const SECOND_OF_PCM16 = Buffer.alloc(48_000, 1).toString('base64');
const USAGE = { prompt_tokens: 15, completion_tokens: 230, total_tokens: 245, completion_tokens_details: { audio_tokens: 200, text_tokens: 30 } };
/** What the whole answer costs: 15 input at $2.50/M, 30 text output at $10/M, 200 audio output at $80/M. */
const WHOLE_NANO = 15 * 2_500 + 30 * 10_000 + 200 * 80_000;

describeEachDatabase('a spoken answer streamed by a chat model, its client gone before its usage', (backend) => {
  let t: TestServer;
  let up: Server;
  /** Whether the upstream's stream for a request (by its user message) was cut before it ended. */
  const cut = new Map<string, boolean>();
  let tags = 0;

  beforeAll(async () => {
    up = createServer(async (req, res) => {
      let text = '';
      for await (const c of req) text += c;
      const body = JSON.parse(text) as { model: string; n?: number; messages: Array<{ content: string }> };
      const tag = body.messages.at(-1)?.content ?? '';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model };
      const chunk = (o: object) => res.write(`data: ${JSON.stringify({ ...base, ...o })}\n\n`);
      const choices = Array.from({ length: body.n ?? 1 }, (_, index) => index);
      chunk({ choices: choices.map((index) => ({ index, delta: { role: 'assistant' }, finish_reason: null })) });
      for (let i = 0; i < CHUNKS; i++) {
        if (res.destroyed) break;
        // The provider breaks off after five seconds of audio.
        if (tag.startsWith('break') && i === 5) {
          res.destroy();
          break;
        }
        chunk({ choices: choices.map((index) => ({ index, delta: { audio: { id: 'audio_1', transcript: 'one two three ', data: SECOND_OF_PCM16 } }, finish_reason: null })) });
        await new Promise((r) => setTimeout(r, 60));
      }
      cut.set(tag, res.destroyed);
      if (res.destroyed) return;
      chunk({ choices: choices.map((index) => ({ index, delta: {}, finish_reason: 'stop' })) });
      chunk({ choices: [], usage: USAGE });
      res.end('data: [DONE]\n\n');
    });
    const url = `${await listenOnLoopback(up)}/v1`;
    const file = gatewayConfigFile({ providers: [{ name: 'oai', base_url: url, api_key_env: 'UP_KEY' }], default_provider: 'oai' });
    t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-0000' } });
  });
  afterAll(async () => {
    await t?.close();
    up?.close();
  });

  const newKey = async (extra: Record<string, unknown> = {}) =>
    (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'audio', ...extra } })).body as { id: string; value: string };

  /** Streams a spoken answer, reads `chunks` of its events (all of them: -1), then hangs up (or `during` acts); its status, and the tag. */
  async function speak(key: { value: string }, o: { chunks?: number; tag?: string; body?: Record<string, unknown>; during?: () => Promise<void> } = {}) {
    const tag = `${o.tag ?? 'question'} ${++tags}`;
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-audio-preview',
        modalities: ['text', 'audio'],
        audio: { voice: 'alloy', format: 'pcm16' },
        stream: true,
        max_tokens: 300,
        messages: [{ role: 'user', content: tag }],
        ...o.body,
      }),
      signal: abort.signal,
    });
    if (res.status !== 200) return { status: res.status, tag };
    const reader = res.body!.getReader();
    let got = '';
    const want = o.chunks ?? 9;
    try {
      while (want < 0 || (got.match(/"transcript"/g) ?? []).length < want) {
        const r = await reader.read();
        if (r.done) break;
        got += new TextDecoder().decode(r.value);
      }
    } catch {
      // cut by the gateway
    }
    if (o.during) await o.during();
    abort.abort();
    return { status: res.status, tag };
  }

  it('read whole, it is billed its usage: 230 output tokens, 200 of them audio', async () => {
    const key = await newKey();
    await speak(key, { chunks: -1 });
    const [e] = await usageEventsOf(t, key.id);
    expect(e).toMatchObject({ outcome: 'ok', output_tokens: 230, audio_output_tokens: 200 });
    expect(Number(e.cost_nanousd)).toBe(WHOLE_NANO);
  });

  it('its client gone after 9 of 10 chunks: read on to its usage, billed as the whole answer', async () => {
    const key = await newKey();
    const { tag } = await speak(key, { chunks: 9 });
    const [e] = await usageEventsOf(t, key.id);
    await expect.poll(() => cut.has(tag), { timeout: 3000 }).toBe(true);
    expect(cut.get(tag)).toBe(false);
    expect(e).toMatchObject({ outcome: 'client_aborted', billable: 1, output_tokens: 230, audio_output_tokens: 200 });
    expect(Number(e.cost_nanousd)).toBe(WHOLE_NANO);
  });

  it('asked by `audio` alone, or with n: 2, it is read on too', async () => {
    for (const body of [{ modalities: undefined }, { n: 2 }]) {
      const key = await newKey();
      const { tag } = await speak(key, { chunks: 3, body });
      const [e] = await usageEventsOf(t, key.id);
      await expect.poll(() => cut.has(tag), { timeout: 3000 }).toBe(true);
      expect(cut.get(tag), JSON.stringify(body)).toBe(false);
      expect(e, JSON.stringify(body)).toMatchObject({ output_tokens: 230, audio_output_tokens: 200 });
    }
  });

  it('broken off by the provider after 5 seconds of audio: billed that audio as audio output, not its transcript as text', async () => {
    const key = await newKey();
    await speak(key, { tag: 'break', chunks: -1 });
    const [e] = await usageEventsOf(t, key.id);
    expect(e.outcome).toBe('stream_interrupted');
    // 5 seconds of pcm16 at OpenAI's 20 audio tokens a second, at the least.
    expect(Number(e.audio_output_tokens)).toBeGreaterThanOrEqual(100);
    expect(Number(e.output_tokens)).toBeGreaterThan(Number(e.audio_output_tokens));
    expect(Number(e.cost_nanousd)).toBeGreaterThanOrEqual(100 * 80_000);
  });

  it('cut by the gateway (its key revoked) after a few seconds: billed the audio it delivered as audio output', async () => {
    const key = await newKey();
    const during = async () => {
      expect((await t.api('DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${key.id}`)).status).toBe(200);
    };
    await speak(key, { chunks: 3, during });
    const [e] = await usageEventsOf(t, key.id);
    expect(Number(e.audio_output_tokens)).toBeGreaterThanOrEqual(60);
    expect(Number(e.cost_nanousd)).toBeGreaterThanOrEqual(60 * 80_000);
  });

  it('a $0.05 hard cap admits no more such calls than it can pay for', async () => {
    const key = await newKey({ spend_limit: { threshold_amount: 5, interval: 'month' } });
    let admitted = 0;
    for (let i = 0; i < 8; i++) {
      const { status } = await speak(key, { chunks: 9 });
      if (status !== 200) break;
      admitted++;
      await usageEventsOf(t, key.id, admitted);
    }
    const rows = await usageEventsOf(t, key.id, admitted);
    const spent = rows.reduce((s, r) => s + Number(r.cost_nanousd), 0);
    expect(admitted).toBeLessThanOrEqual(3);
    expect(spent).toBe(admitted * WHOLE_NANO);
    expect(spent).toBeLessThanOrEqual(50_000_000);
  });
});
