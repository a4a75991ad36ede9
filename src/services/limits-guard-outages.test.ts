import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import { testGuard } from '../../test/harness/limits-guard.js';
import { UnansweredAcquire } from '../core/limit-store.js';
import { planMetering } from '../core/metering-plan.js';
import { DEFAULT_PRICES } from '../core/pricing.js';
import { MemoryLimitStore } from '../infra/memory-limit-store.js';

// What the guard does when the shared store (Redis) fails, found by an outside review: (1) an acquire Redis did not
// answer may still run there (a Redis that hung thaws), charging a request the guard refused or admitted on the local
// store: the guard cancels it; (2) what the local store counted in one outage was taken as truth in the next, though
// the key had used Redis between them: the local store starts afresh when an outage begins after Redis came back.
// (test/redis-outages.test.ts runs both against a real Redis.)

const NOW = Date.parse('2026-03-01T10:00:00Z');
const BODY = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 };
const input = (limits: object) => ({
  record: keyRecord({ limits }),
  model: 'gpt-4o',
  endpoint: '/chat/completions',
  body: BODY,
  plan: planMetering({ method: 'POST', endpoint: '/chat/completions', body: BODY, form: null, model: 'gpt-4o', bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null }),
  nowMs: NOW,
});

/** A shared store that fails every acquire with `failure()`, and has come back `comebacks` times. */
class FailingStore extends MemoryLimitStore {
  comebacks = 0;
  constructor(private readonly failure: () => Error) {
    super();
  }
  override acquire(): never {
    throw this.failure();
  }
  recoveries(): number {
    return this.comebacks;
  }
}

describe('LimitsGuard when the shared store fails', () => {
  it('cancels an acquire the shared store did not answer, and tries the cancel again until it lands', async () => {
    const cancels: number[] = [];
    const shared = new FailingStore(
      () =>
        new UnansweredAcquire(new Error('Command timed out'), async (nowMs) => {
          cancels.push(nowMs);
          if (cancels.length === 1) throw new Error('Command timed out');
        }),
    );
    const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: new MemoryLimitStore() });
    // Rate limits fail open: the request is admitted on the local store, and its acquire on Redis cancelled.
    const admission = await guard.admit(input({ rate_limits: { max_requests_per_1_minute: 10 } }));
    expect(admission.headers['x-ratelimit-remaining-requests']).toBe('9');
    await Promise.resolve();
    expect(cancels).toEqual([NOW]);
    expect(guard.pendingSettles).toBe(1);
    await guard.retrySettles();
    expect(cancels).toEqual([NOW, NOW]);
    expect(guard.pendingSettles).toBe(0);
  });

  it('decides on a local store emptied at each new outage (the shared store came back since), kept through one outage', async () => {
    const shared = new FailingStore(() => new Error('connection refused'));
    const guard = testGuard({ clock: () => NOW }, shared, undefined, { localStore: new MemoryLimitStore() });
    const remaining = async () => (await guard.admit(input({ rate_limits: { max_requests_per_1_minute: 3 } }))).headers['x-ratelimit-remaining-requests'];
    expect([await remaining(), await remaining()]).toEqual(['2', '1']);
    shared.comebacks++;
    // A second outage: the minute is counted afresh on the local store (with a day's limit, from stored usage).
    expect([await remaining(), await remaining()]).toEqual(['2', '1']);
  });
});
