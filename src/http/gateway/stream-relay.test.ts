import type { ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { eventData, lastBoundaryEnd, MAX_SSE_EVENT_BYTES, nextBoundaryEnd, SseEventTooLarge, SseFramer, withLoneCrAsLf } from '../../core/sse.js';
import { bufferedBody } from '../../providers/body.js';
import type { UpstreamBody } from '../../core/upstream.js';
import { InspectedStream } from './owned-answers.js';
import { relayStream } from './stream-relay.js';

/** A ServerResponse stand-in that records what the relay writes, and in how many writes. */
function recorder() {
  const writes: string[] = [];
  let ended = false;
  const res = {
    destroyed: false,
    writeHead: () => res,
    write(c: Buffer | string) {
      writes.push(c.toString());
      return true;
    },
    end(c?: Buffer | string) {
      if (c !== undefined) writes.push(c.toString());
      ended = true;
      return res;
    },
    destroy() {},
    once: () => res,
    off: () => res,
  };
  return { res: res as unknown as ServerResponse, writes, text: () => writes.join(''), ended: () => ended };
}

const ev = (data: unknown) => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const chunk = (content: string) => ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
// As OpenAI sends it: every chunk names the service tier, the usage chunk too.
const usageChunk = ev({ object: 'chat.completion.chunk', service_tier: 'flex', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } });

async function relay(parts: Array<string | Buffer>, injectUsage = false, endpoint = '/chat/completions') {
  const r = recorder();
  const body = bufferedBody(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const result = await relayStream(r.res, { statusCode: 200, headers: { 'content-type': 'text/event-stream' }, body }, {
    endpoint,
    injectUsage,
    admissionHeaders: {},
    requestId: 'req_test',
    secrets: [],
    isClientGone: () => false,
    stallMs: 0,
  });
  return { ...r, result };
}

describe('SSE framing', () => {
  it('never splits a multi-byte character that arrives in two chunks', () => {
    const bytes = Buffer.from(ev('{"t":"héllo €"}'));
    const cut = bytes.indexOf(Buffer.from('€')) + 1; // inside the 3-byte euro sign
    const f = new SseFramer();
    expect(f.push(bytes.subarray(0, cut))).toBeNull();
    expect(f.push(bytes.subarray(cut))?.toString('utf8')).toBe(ev('{"t":"héllo €"}'));
  });

  it('frames CRLF events and keeps an unfinished one for later', () => {
    const f = new SseFramer();
    expect(f.push(Buffer.from('data: a\r\n\r\ndata: b'))?.toString()).toBe('data: a\r\n\r\n');
    expect(f.push(Buffer.from('\r\n\r\n'))?.toString()).toBe('data: b\r\n\r\n');
    expect(f.rest()).toBeNull();
  });

  it('joins a large event once: 10 MiB in 16 KiB chunks copies it once, not once per chunk', () => {
    const event = Buffer.from(`data: {"b64_json":"${'A'.repeat(10 * 1024 * 1024)}"}\n\n`);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const f = new SseFramer();
      const started = performance.now();
      const out: Buffer[] = [];
      for (let i = 0; i < event.length; i += 16 * 1024) {
        const events = f.push(event.subarray(i, i + 16 * 1024));
        if (events) out.push(events);
      }
      const ms = performance.now() - started;
      expect(out).toHaveLength(1);
      expect(out[0].equals(event)).toBe(true);
      // Bytes copied: the event once (each chunk was joined to all before it: 640 chunks, 3.4 GB, 6.9 s).
      const copied = concat.mock.calls.reduce((n, [list]) => n + list.reduce((m, b) => m + b.length, 0), 0);
      expect(copied).toBe(event.length);
      // ~5 ms here; a bound no busy machine reaches, far below the quadratic's seconds.
      expect(ms).toBeLessThan(1500);
    } finally {
      concat.mockRestore();
    }
  });

  /** Just past each blank line of a whole stream, by the spec's line ends (CRLF, LF, CR), read forwards. */
  function blankLineEnds(bytes: Buffer): number[] {
    const ends: number[] = [];
    // At the start, as after a blank line, a line end ends one more (an empty event, which dispatches nothing).
    let atLineStart = true;
    let afterCr = false;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x0a && afterCr) {
        // The LF of a CRLF: the same line end; when the CR ended a blank line, that blank line goes on to here.
        if (ends.at(-1) === i) ends.push(i + 1);
        afterCr = false;
        continue;
      }
      if (b === 0x0a || b === 0x0d) {
        if (atLineStart) ends.push(i + 1);
        atLineStart = true;
        afterCr = b === 0x0d;
      } else {
        atLineStart = false;
        afterCr = false;
      }
    }
    return ends;
  }

  it('frames at every blank line (LF, CRLF, CR, mixed) however the stream is cut into chunks', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 2000; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => '\n\r\r\na:'[Math.floor(rand() * 6)]).join(''));
      const ends = blankLineEnds(bytes);
      const f = new SseFramer();
      let emitted = 0;
      for (let at = 0; at < bytes.length; ) {
        const next = Math.min(bytes.length, at + 1 + Math.floor(rand() * 5));
        const events = f.push(bytes.subarray(at, next));
        at = next;
        const expected = ends.filter((e) => e <= at).at(-1) ?? 0;
        const label = `${JSON.stringify(bytes.toString())} through ${at}`;
        // Every complete event as soon as its blank line has come, and nothing more.
        expect(emitted + (events?.length ?? 0), label).toBe(Math.max(expected, emitted));
        if (events) {
          // The same bytes, but for lone CRs handed on as LF.
          expect(withLoneCrAsLf(events).equals(withLoneCrAsLf(bytes.subarray(emitted, emitted + events.length))), label).toBe(true);
          emitted += events.length;
        }
      }
      const rest = f.rest();
      expect(emitted + (rest?.length ?? 0)).toBe(bytes.length);
    }
  });

  it('frames a blank line split between chunks: LF|LF, CR|LF CR LF, CRLF CR|LF, CR|CR (a lone CR handed on as LF)', () => {
    const cases: Array<[string[], string[]]> = [
      [['data: a\n', '\ndata: b\n\n'], ['', 'data: a\n\ndata: b\n\n']],
      [['data: a\r', '\n\r\n'], ['', 'data: a\r\n\r\n']],
      [['data: a\r\n\r', '\ndata: b\r\n', '\r\n'], ['data: a\r\n\n', '\n', 'data: b\r\n\r\n']],
      [['data: a\r', '\rdata: b\r\r'], ['', 'data: a\n\ndata: b\n\n']],
      [['data: a\n', '\r', 'x'], ['', 'data: a\n\n', '']],
      [['data: a\r\n', 'data: b'], ['', '']],
    ];
    for (const [chunks, out] of cases) {
      const f = new SseFramer();
      expect(chunks.map((c) => f.push(Buffer.from(c))?.toString() ?? ''), JSON.stringify(chunks)).toEqual(out);
    }
  });

  it('refuses an event that grows past its bound, and so bounds a stream that never ends one', () => {
    const f = new SseFramer(1000);
    expect(f.push(Buffer.from(`data: ${'a'.repeat(900)}\n\n`))?.length).toBe(908);
    const line = Buffer.from('data: no blank line ever comes'.padEnd(100, '.'));
    for (let i = 0; i < 10; i++) expect(f.push(line)).toBeNull();
    expect(() => f.push(line)).toThrow(SseEventTooLarge);
    // What it held is let go.
    expect(f.rest()).toBeNull();
  });
});

// The boundary searches as indexOf/lastIndexOf define them (what the loops in sse.ts must agree with).
const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');
function refLast(buf: Buffer, before: number): number {
  const lf = buf.lastIndexOf(LF_LF, before);
  const crlf = buf.lastIndexOf(LF_CRLF, before);
  return Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 3);
}
function refNext(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF_LF, from);
  const crlf = buf.indexOf(LF_CRLF, from);
  if (lf < 0 && crlf < 0) return buf.length;
  if (lf < 0) return crlf + 3;
  if (crlf < 0) return lf + 2;
  return Math.min(lf + 2, crlf + 3);
}

describe('SSE boundaries', () => {
  it('finds the same boundaries as indexOf and lastIndexOf over every position of mixed LF/CRLF text', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 300; n++) {
      const buf = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 24) }, () => '\n\ra:'[Math.floor(rand() * 4)]).join(''));
      for (let at = 0; at <= buf.length; at++) {
        expect(lastBoundaryEnd(buf, at), `last ${JSON.stringify(buf.toString())} @${at}`).toBe(refLast(buf, at));
        expect(nextBoundaryEnd(buf, at), `next ${JSON.stringify(buf.toString())} @${at}`).toBe(refNext(buf, at));
      }
      expect(lastBoundaryEnd(buf)).toBe(refLast(buf, buf.length));
    }
  });

  it('reads the data of one-line and multi-line events alike', () => {
    expect(eventData('data: {"a":1}\n\n')).toBe('{"a":1}');
    expect(eventData('data: [DONE]\r\n\r\n')).toBe('[DONE]');
    expect(eventData('data:  two spaces\n\n')).toBe(' two spaces');
    expect(eventData('data:x\n\n')).toBe('x');
    expect(eventData('event: e\ndata: a\ndata: b\n\n')).toBe('a\nb');
    expect(eventData('data: a\nid: 7\n\n')).toBe('a');
    expect(eventData(': comment\n\n')).toBeNull();
  });
});

describe('relayStream', () => {
  it('passes events through, drops the usage chunk it asked for, and ends with the last events in one write', async () => {
    const r = await relay([chunk('Hel') + chunk('lo'), usageChunk, ev('[DONE]')], true);
    expect(r.result).toEqual({ complete: true, tokens: { input: 5, cached: 0, output: 7 }, final: true, text: '', serviceTier: 'flex', speed: null });
    expect(r.text()).toBe(chunk('Hel') + chunk('lo') + ev('[DONE]'));
    expect(r.writes.at(-1)).toBe(ev('[DONE]')); // written by end(), not by a write and then an empty end
    expect(r.ended()).toBe(true);
  });

  it('finds the usage chunk between CRLF-framed events too', async () => {
    const crlf = (e: string) => e.replace(/\n\n$/, '\r\n\r\n');
    const r = await relay([crlf(chunk('Hi')) + crlf(usageChunk) + crlf(ev('[DONE]'))], true);
    expect(r.result).toMatchObject({ complete: true, tokens: { input: 5, cached: 0, output: 7 } });
    expect(r.text()).toBe(crlf(chunk('Hi')) + crlf(ev('[DONE]')));
  });

  it('reads a stream whose lines end with a lone CR, however it is cut: usage, the usage chunk left out, [DONE], no error', async () => {
    const cr = (e: string) => e.replaceAll('\n', '\r');
    const multiLine = 'event: note\rdata: {"a":\rdata: 1}\r\r';
    const bytes = Buffer.from(cr(chunk('Hel')) + multiLine + cr(chunk('lo')) + cr(usageChunk) + cr(ev('[DONE]')));
    const expected = chunk('Hel') + multiLine.replaceAll('\r', '\n') + chunk('lo') + ev('[DONE]');
    const cuts: Array<Buffer[]> = [];
    for (let at = 1; at < bytes.length; at++) cuts.push([bytes.subarray(0, at), bytes.subarray(at)]);
    cuts.push([...bytes].map((b) => Buffer.from([b])));
    for (const parts of cuts) {
      const r = await relay(parts, true);
      const label = parts.map((p) => p.length).join('|');
      expect(r.result, label).toMatchObject({ complete: true, tokens: { input: 5, cached: 0, output: 7 }, serviceTier: 'flex' });
      // Lone CRs go on as LF; a client's parser reads the same events either way.
      expect(r.text(), label).toBe(expected);
    }
  });

  it('reads a last event without its blank line in lone-CR line ends too', async () => {
    const r = await relay(['data: {"x":1}\r\r', 'data: [DONE]\r'], false);
    expect(r.result.complete).toBe(true);
    expect(r.text()).toBe('data: {"x":1}\n\ndata: [DONE]\n\n');
  });

  it('recognises [DONE] also when it is not the last thing in its chunk', async () => {
    const r = await relay([chunk('Hi') + ev('[DONE]') + ': keep-alive comment\n\n'], false);
    expect(r.result.complete).toBe(true);
    expect(r.text()).toBe(chunk('Hi') + ev('[DONE]') + ': keep-alive comment\n\n');
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const r = await relay([chunk('Hi'), usageChunk + ev('[DONE]')], false);
    expect(r.text()).toBe(chunk('Hi') + usageChunk + ev('[DONE]'));
  });

  it('relays a character split across upstream chunks intact', async () => {
    const bytes = Buffer.from(chunk('€uro') + ev('[DONE]'));
    const cut = bytes.indexOf(Buffer.from('€')) + 2;
    const r = await relay([bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(r.text()).toBe(chunk('€uro') + ev('[DONE]'));
  });

  it('collects the answer text when the upstream reports no usage (usage: null included)', async () => {
    const nullUsage = ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: ' there' } }], usage: null });
    const r = await relay([chunk('Hi'), nullUsage, ev('[DONE]')]);
    expect(r.result).toMatchObject({ complete: true, tokens: null, text: 'Hi there' });
  });

  it('collects all the text of a long stream without usage, past the 4 MiB of events it keeps as they are', async () => {
    // 120,000 one-word deltas, ~15 MB of events: only the first 4 MiB were counted.
    const parts: string[] = [];
    for (let i = 0; i < 1200; i++) parts.push(Array.from({ length: 100 }, () => chunk('w')).join(''));
    const r = await relay([...parts, chunk('<END>')]);
    expect(r.result.tokens).toBeNull();
    expect(r.result.text).toBe(`${'w'.repeat(120_000)}<END>`);
  });

  it("skips OpenAI's \"usage\":null in every chunk and reads the usage chunk, whatever its spacing", async () => {
    // With include_usage OpenAI sends "usage":null in each chunk; other servers space their JSON.
    const nulls = ['"usage":null', '"usage": null', '"usage" : null'].map(
      (u) => `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}],${u}}\n\n`,
    );
    // A key that ends in "usage" is not the usage member, wherever it stands.
    const spaced = 'data: {"object": "chat.completion.chunk", "choices": [], "x_usage": {"prompt_tokens": 1}, "usage" : {"prompt_tokens": 5, "completion_tokens": 7}}\n\n';
    // The gateway asked for usage: the client gets neither the usage chunk nor the null members (as from OpenAI when
    // not asked), the rest of each chunk as it came.
    const without = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n`.repeat(3);
    const r = await relay([nulls.join('') + spaced + ev('[DONE]')], true);
    expect(r.result).toEqual({ complete: true, tokens: { input: 5, cached: 0, output: 7 }, final: true, text: '', serviceTier: null, speed: null });
    expect(r.text()).toBe(without + ev('[DONE]'));
    // The same events one chunk each, the usage chunk alone before [DONE].
    const apart = await relay([...nulls, spaced, ev('[DONE]')], true);
    expect(apart.result.tokens).toEqual({ input: 5, cached: 0, output: 7 });
    expect(apart.text()).toBe(without + ev('[DONE]'));
    // The client asked for usage itself: everything byte for byte.
    const asked = await relay([...nulls, spaced, ev('[DONE]')], false);
    expect(asked.result.tokens).toEqual({ input: 5, cached: 0, output: 7 });
    expect(asked.text()).toBe(nulls.join('') + spaced + ev('[DONE]'));
  });

  it('leaves out "usage": null wherever it stands in the chunk, with its comma, and nothing that only looks like it', async () => {
    const cases: Array<[string, string]> = [
      ['{"usage":null,"choices":[]}', '{"choices":[]}'],
      ['{"choices":[] , "usage" :\tnull , "id":"x"}', '{"choices":[] ,  "id":"x"}'],
      ['{"choices":[],"usage":null}', '{"choices":[]}'],
      ['{"usage":null}', '{}'],
      // Not the member: a string value "usage", a longer key, a text that mentions it (escaped quotes).
      ['{"name":"usage","x_usage":null,"t":"\\"usage\\":null"}', '{"name":"usage","x_usage":null,"t":"\\"usage\\":null"}'],
    ];
    for (const [sent, got] of cases) {
      const r = await relay([`data: ${sent}\n\n`, usageChunk, ev('[DONE]')], true);
      expect(r.text()).toBe(`data: ${got}\n\n${ev('[DONE]')}`);
      expect(() => JSON.parse(got)).not.toThrow();
    }
  });

  it('reads the usage chunk wherever it stands before [DONE], also when a usage:null chunk comes after it', async () => {
    const nullUsage = ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: '!' } }], usage: null });
    // The last usage key before [DONE] is null: the chunk is searched from its start.
    const r = await relay([chunk('Hi') + usageChunk + nullUsage + ev('[DONE]')], true);
    expect(r.result).toEqual({ complete: true, tokens: { input: 5, cached: 0, output: 7 }, final: true, text: '', serviceTier: 'flex', speed: null });
    expect(r.text()).toBe(chunk('Hi') + nullUsage.replace(',"usage":null', '') + ev('[DONE]'));
    // Usage in every chunk (as vLLM's continuous usage stats): the last one counts, and only the usage-only chunk goes.
    const running = (n: number) => ev({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'a' } }], usage: { prompt_tokens: 5, completion_tokens: n } });
    const all = await relay([running(1) + running(2) + usageChunk + ev('[DONE]')], true);
    expect(all.result.tokens).toEqual({ input: 5, cached: 0, output: 7 });
    expect(all.text()).toBe(running(1) + running(2) + ev('[DONE]'));
    // No usage key at all: passed on as it came, the text kept for counting.
    const none = await relay([chunk('Hi') + ev('[DONE]')], true);
    expect(none.result).toEqual({ complete: true, tokens: null, final: false, text: 'Hi', serviceTier: null, speed: null });
    expect(none.text()).toBe(chunk('Hi') + ev('[DONE]'));
  });

  it('reads a Responses stream: usage and the end from response.completed, no [DONE] needed', async () => {
    const delta = `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}\n\n`;
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { service_tier: 'priority', usage: { input_tokens: 3, output_tokens: 4 } } })}\n\n`;
    const r = await relay([delta, completed], false, '/responses');
    expect(r.result).toEqual({ complete: true, tokens: { input: 3, cached: 0, output: 4 }, final: true, text: '', serviceTier: 'priority', speed: null });
    expect(r.text()).toBe(delta + completed);
    const cut = await relay([delta], false, '/responses');
    expect(cut.result.complete).toBe(false);
  });

  it('ends a Responses stream at response.incomplete or response.failed too, with their usage and no cut-off error', async () => {
    const delta = `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}\n\n`;
    for (const type of ['response.incomplete', 'response.failed']) {
      const end = `event: ${type}\ndata: ${JSON.stringify({ type, response: { status: type.slice(9), usage: { input_tokens: 3, output_tokens: 16 } } })}\n\n`;
      const r = await relay([delta, end], false, '/responses');
      expect(r.result).toEqual({ complete: true, tokens: { input: 3, cached: 0, output: 16 }, final: true, text: '', serviceTier: null, speed: null });
      expect(r.text()).toBe(delta + end);
    }
  });

  it('relays what one read of the upstream delivers as one burst: one inspection, one write', async () => {
    // undici hands over each HTTP chunk of a read apart, in the same turn: the events, the usage chunk and [DONE].
    const parts = [chunk('Hel') + chunk('lo'), usageChunk, ev('[DONE]')].map((p) => Buffer.from(p));
    const body: UpstreamBody = {
      readAll: async () => Buffer.concat(parts),
      pipe(sink) {
        const done = new Promise<void>((resolve) =>
          setImmediate(() => {
            for (const p of parts) sink(p);
            resolve();
          }),
        );
        return { done, pause() {}, resume() {}, cancel() {} };
      },
    };
    const r = recorder();
    const result = await relayStream(r.res, { statusCode: 200, headers: {}, body }, { endpoint: '/chat/completions', injectUsage: true, admissionHeaders: {}, requestId: 'req_test', secrets: [], isClientGone: () => false, stallMs: 0 });
    expect(result).toEqual({ complete: true, tokens: { input: 5, cached: 0, output: 7 }, final: true, text: '', serviceTier: 'flex', speed: null });
    expect(r.writes).toEqual([chunk('Hel') + chunk('lo') + ev('[DONE]')]);
  });

  it("pauses the upstream while the client's socket is full, and resumes it once that drains", async () => {
    const calls: string[] = [];
    let wake: (() => void) | null = null;
    let paused = false;
    const body: UpstreamBody = {
      readAll: async () => Buffer.alloc(0),
      pipe(sink) {
        const done = (async () => {
          await new Promise((r) => setImmediate(r));
          sink(Buffer.from(chunk('a')));
          await new Promise((r) => setImmediate(r));
          if (paused) await new Promise<void>((r) => (wake = r));
          sink(Buffer.from(chunk('b') + ev('[DONE]')));
        })();
        return {
          done,
          pause: () => {
            paused = true;
            calls.push('pause');
          },
          resume: () => {
            paused = false;
            calls.push('resume');
            wake?.();
          },
          cancel() {},
        };
      },
    };
    const r = recorder();
    let drain: (() => void) | null = null;
    const res = r.res as unknown as { write: (c: Buffer) => boolean; once: (e: string, f: () => void) => unknown };
    const write = res.write;
    res.write = (c) => {
      write(c);
      return false; // the client's socket is full
    };
    res.once = (e, f) => {
      if (e === 'drain') drain = f;
      return res;
    };
    const relayed = relayStream(r.res, { statusCode: 200, headers: {}, body }, { endpoint: '/chat/completions', injectUsage: false, admissionHeaders: {}, requestId: 'req_test', secrets: [], isClientGone: () => false, stallMs: 0 });
    for (let i = 0; i < 20 && !drain; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['pause']);
    expect(r.text()).toBe(chunk('a'));
    (drain as unknown as () => void)();
    const result = await relayed;
    expect(calls).toEqual(['pause', 'resume']);
    expect(result.complete).toBe(true);
    expect(r.text()).toBe(chunk('a') + chunk('b') + ev('[DONE]'));
  });

  it('ends the exchange, not the process, when relaying a burst throws', async () => {
    let cancelled = false;
    const body: UpstreamBody = {
      readAll: async () => Buffer.alloc(0),
      pipe(sink) {
        let stop: (() => void) | null = null;
        const done = (async () => {
          await new Promise((r) => setImmediate(r));
          sink(Buffer.from(chunk('a')));
          // The rest would come later; a cancel ends the body instead.
          await new Promise<void>((r) => (stop = r));
          throw new Error('aborted');
        })();
        return {
          done,
          pause() {},
          resume() {},
          cancel: () => {
            cancelled = true;
            (stop as unknown as () => void)?.();
          },
        };
      },
    };
    const r = recorder();
    (r.res as unknown as { write: () => boolean }).write = () => {
      throw new Error('write failed');
    };
    const result = await relayStream(r.res, { statusCode: 200, headers: {}, body }, { endpoint: '/chat/completions', injectUsage: false, admissionHeaders: {}, requestId: 'req_test', secrets: [], isClientGone: () => false, stallMs: 0 });
    expect(cancelled).toBe(true);
    expect(result.complete).toBe(false);
  });

  it("relays a provider's error event once, as an answered error: Tollgate's request id, no provider key or organization", async () => {
    const r = recorder();
    const error = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded for org-AbCdEfGh1234 with sk-up-secret-0000"},"request_id":"req_provider"}';
    const body = bufferedBody([Buffer.from('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'), Buffer.from(`event: error\ndata: ${error}\n\n`)]);
    const result = await relayStream(r.res, { statusCode: 200, headers: {}, body }, {
      endpoint: '/messages',
      injectUsage: false,
      admissionHeaders: {},
      requestId: 'req_test',
      secrets: ['sk-up-secret-0000'],
      isClientGone: () => false,
      stallMs: 0,
      format: 'anthropic',
    });
    expect(result.complete).toBe(false);
    const text = r.text();
    expect(text.split('event: error')).toHaveLength(2);
    expect(text).not.toContain('req_provider');
    expect(text).not.toContain('org-AbCdEfGh1234');
    expect(text).not.toContain('sk-up-secret-0000');
    expect(text).toContain('"error":{"type":"overloaded_error","message":"Overloaded for [provider organization] with [provider key]"},"request_id":"req_test"}');
  });

  it("cuts a stream whose event grows past the bound, with an error event in the client's shape", async () => {
    // One 1 MiB buffer handed over again and again: 129 MiB without a blank line, held as references.
    const mib = Buffer.alloc(1024 * 1024, 0x41);
    const parts = [Buffer.from(chunk('Hi')), Buffer.from('data: {"b64_json":"'), ...Array.from({ length: MAX_SSE_EVENT_BYTES / mib.length + 1 }, () => mib)];
    for (const [endpoint, format, shape, held] of [
      ['/chat/completions', 'openai', '"code":"upstream_error"', false],
      ['/responses', 'openai', '"type":"error","code":"upstream_error"', false],
      // A Responses stream held event by event until the objects it names are recorded (owned-answers.ts): its own framer.
      ['/responses', 'openai', '"type":"error","code":"upstream_error"', true],
      ['/messages', 'anthropic', 'event: error\ndata: {"type":"error","error":{"type":"api_error"', false],
    ] as const) {
      const r = recorder();
      const body = held ? new InspectedStream(bufferedBody(parts), () => null) : bufferedBody(parts);
      const result = await relayStream(r.res, { statusCode: 200, headers: { 'content-type': 'text/event-stream' }, body }, {
        endpoint,
        injectUsage: false,
        admissionHeaders: {},
        requestId: 'req_test',
        secrets: [],
        isClientGone: () => false,
        stallMs: 0,
        format,
      });
      // Billed as a cut stream: not complete, its text kept for counting.
      expect(result.complete, endpoint).toBe(false);
      expect(result.text, endpoint).toBe('Hi');
      expect(r.ended()).toBe(true);
      expect(r.writes.at(-1), endpoint).toContain(shape);
      expect(r.writes.at(-1), endpoint).toContain('larger than 128 MiB');
      expect(r.text().length, endpoint).toBeLessThan(64 * 1024);
    }
  });

  it('ends a stream cut off by the upstream with an error event', async () => {
    const r = await relay([chunk('Hi')]);
    expect(r.result.complete).toBe(false);
    expect(r.writes.at(-1)).toContain('"code":"upstream_error"');
  });
});
