import { describe, expect, it } from 'vitest';
import { AbortHandle } from '../core/abort-handle.js';
import { TollgateError } from '../core/errors.js';
import { type Upstream, UpstreamFailure, type UpstreamResponse } from '../core/upstream.js';
import { BreakerUpstream } from './breaker-upstream.js';

// The breaker around an upstream: what counts as a failure, and what an open breaker answers.
function fakeInner(next: () => Promise<UpstreamResponse>): Upstream & { sent: number } {
  const u = {
    name: 'up',
    format: 'openai' as const,
    models: null,
    totalTimeoutMs: 1000,
    credential: 'UP_KEY',
    sent: 0,
    send: () => {
      u.sent++;
      return next();
    },
    close: async () => undefined,
  };
  return u;
}
const answer = (statusCode: number): Promise<UpstreamResponse> =>
  Promise.resolve({ statusCode, headers: {}, body: { readAll: async () => Buffer.alloc(0), pipe: () => ({ done: Promise.resolve(), pause() {}, resume() {}, cancel() {} }) } });
const req = () => ({ method: 'POST', path: '/chat/completions', search: '', headers: {}, body: null, signal: new AbortHandle() });

describe('BreakerUpstream', () => {
  it('counts 5xx answers and failures to answer, not 4xx answers nor aborted requests; open, it sends nothing', async () => {
    let now = 0;
    let next: () => Promise<UpstreamResponse> = () => answer(503);
    const inner = fakeInner(() => next());
    const opened: string[] = [];
    const b = new BreakerUpstream(inner, { failures: 2, coolOffMs: 1000 }, () => now, (p) => opened.push(p));
    expect(b.credential).toBe('UP_KEY');
    await b.send(req());
    next = () => answer(429);
    await b.send(req());
    next = () => Promise.reject(new UpstreamFailure('aborted', 'aborted'));
    await expect(b.send(req())).rejects.toBeInstanceOf(UpstreamFailure);
    expect(b.circuit()).toEqual({ state: 'closed', opened: 0 });
    next = () => answer(500);
    await b.send(req());
    next = () => Promise.reject(new UpstreamFailure('unreachable', 'no', true));
    await expect(b.send(req())).rejects.toMatchObject({ kind: 'unreachable' });
    expect(b.circuit()).toEqual({ state: 'open', opened: 1 });
    expect(opened).toEqual(['up']);
    const sent = inner.sent;
    const refused = (await b.send(req()).catch((e: unknown) => e)) as UpstreamFailure;
    expect(refused).toMatchObject({ kind: 'unavailable', notSent: true });
    expect(refused.message).toMatch(/'up'.*1 s/);
    expect(inner.sent).toBe(sent);
    now += 1000;
    next = () => answer(200);
    expect((await b.send(req())).statusCode).toBe(200);
    expect(b.circuit()).toEqual({ state: 'closed', opened: 1 });
  });

  it("never counts a request the upstream refused before sending it (a model no Azure deployment can be named): a client cannot open it", async () => {
    const b = new BreakerUpstream(fakeInner(() => Promise.reject(new TollgateError('model_not_found', 'no such model', 'model'))), { failures: 2, coolOffMs: 1000 }, () => 0);
    for (let i = 0; i < 10; i++) await expect(b.send(req())).rejects.toBeInstanceOf(TollgateError);
    expect(b.circuit()).toEqual({ state: 'closed', opened: 0 });
  });

  it('counts 500, 504 and first-byte timeouts once per client; 502, 503, 529, resets and connect timeouts whoever sent them', async () => {
    let now = 0;
    let next: () => Promise<UpstreamResponse> = () => answer(500);
    const b = new BreakerUpstream(fakeInner(() => next()), { failures: 2, coolOffMs: 1000 }, () => now);
    const from = (client: string) => ({ ...req(), client });
    for (const failure of [() => answer(500), () => answer(504), () => Promise.reject(new UpstreamFailure('timeout', 'first byte'))]) {
      next = failure;
      for (let i = 0; i < 3; i++) await b.send(from('key_a')).catch(() => undefined);
    }
    expect(b.circuit().state).toBe('closed');
    await b.send(from('key_b')).catch(() => undefined);
    expect(b.circuit()).toEqual({ state: 'open', opened: 1 });
    for (const failure of [() => answer(502), () => answer(503), () => answer(529), () => Promise.reject(new UpstreamFailure('unreachable', 'reset')), () => Promise.reject(new UpstreamFailure('timeout', 'connect', true))]) {
      now += 1000;
      next = () => answer(200);
      await b.send(from('key_a'));
      next = failure;
      await b.send(from('key_a')).catch(() => undefined);
      expect(b.circuit().state).toBe('closed');
      await b.send(from('key_a')).catch(() => undefined);
      expect(b.circuit().state).toBe('open');
    }
  });

  it('a probe its client abandoned lets the next request probe at once', async () => {
    let now = 0;
    let next: () => Promise<UpstreamResponse> = () => answer(503);
    const inner = fakeInner(() => next());
    const b = new BreakerUpstream(inner, { failures: 1, coolOffMs: 1000 }, () => now);
    await b.send(req());
    now += 1000;
    next = () => Promise.reject(new UpstreamFailure('aborted', 'aborted'));
    await expect(b.send(req())).rejects.toMatchObject({ kind: 'aborted' });
    next = () => answer(200);
    expect((await b.send(req())).statusCode).toBe(200);
    expect(b.circuit().state).toBe('closed');
  });
  it('counts a late first byte (a whole answer waited for past the timeout) once per client, as the timeout it was', async () => {
    // The inner upstream calls onLate (its first-byte timeout passed), then the request's deadline aborts it, which
    // alone counts nothing.
    const inner = fakeInner(() => Promise.reject(new UpstreamFailure('aborted', 'deadline')));
    const late: Upstream = {
      ...inner,
      send: (r) => {
        r.onLate?.();
        return inner.send(r);
      },
    };
    const b = new BreakerUpstream(late, { failures: 2, coolOffMs: 1000 }, () => 0);
    const told: string[] = [];
    const from = (client: string) => ({ ...req(), client, onLate: () => told.push(client) });
    for (let i = 0; i < 3; i++) await expect(b.send(from('key_a'))).rejects.toMatchObject({ kind: 'aborted' });
    expect(told).toEqual(['key_a', 'key_a', 'key_a']);
    expect(b.circuit().state).toBe('closed');
    await expect(b.send(from('key_b'))).rejects.toMatchObject({ kind: 'aborted' });
    expect(b.circuit()).toEqual({ state: 'open', opened: 1 });
  });

  it('only the probe ends the half-open state: a request sent before the breaker opened cannot let a second probe through (found by an outside review)', async () => {
    // Each send stays pending until the test settles it.
    const pending: Array<{ resolve: (r: UpstreamResponse) => void; reject: (e: unknown) => void }> = [];
    const inner = fakeInner(() => new Promise<UpstreamResponse>((resolve, reject) => pending.push({ resolve, reject })));
    let now = 0;
    const b = new BreakerUpstream(inner, { failures: 1, coolOffMs: 1000 }, () => now);
    const fail = (i: number, kind: 'aborted' | 'timeout' | 'unreachable') => pending[i].reject(new UpstreamFailure(kind, kind));
    // An old request, sent while closed, stays in flight; another fails to connect and opens the breaker.
    for (const late of ['aborted', 'timeout', 500, 503, 200] as const) {
      pending.length = 0;
      const sent = inner.sent;
      const old = b.send(req()).then(
        (r) => r,
        (e: unknown) => e,
      );
      const failing = b.send(req()).catch((e: unknown) => e);
      fail(1, 'unreachable');
      await failing;
      expect(b.circuit().state).toBe('open');
      now += 1000;
      const probe = b.send(req()).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(inner.sent).toBe(sent + 3);
      // The old request ends (its client hung up, a first-byte timeout, a 500, a 503, even an answer) while the probe is out.
      if (typeof late === 'number') pending[0].resolve(await answer(late));
      else fail(0, late);
      await old;
      expect(b.circuit().state).toBe('half_open');
      const second = b.send(req()).catch((e: unknown) => e);
      // Not sent: the probe is still out (today's bug sent it on, a second concurrent probe).
      expect(inner.sent).toBe(sent + 3);
      expect(await second).toMatchObject({ kind: 'unavailable', notSent: true });
      // The probe's own answer decides: it closes the breaker.
      pending[2].resolve(await answer(200));
      await probe;
      expect(b.circuit().state).toBe('closed');
    }
  });
});
