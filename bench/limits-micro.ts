import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keyRecord } from '../test/harness/key-record.js';
import { CHAT_BODIES } from './chat-load.js';
import { LIMITED_KEY_LIMITS } from './tollgate-fixture.js';

// The limits path alone, in process: admit and settle one request of the bench's limited key (RPM, TPM and a monthly
// spend limit) on the in-memory store, as the gateway does for every request of such a key, without the HTTP
// around it. Prints CPU µs per request (the best of several runs: the least disturbed by other work on the machine).
//
//   node --import tsx bench/limits-micro.ts                         the working tree's sources
//   LIMITS_FROM=.tmp/quick-base/dist node bench/limits-micro.ts …  a build (see bench/quick.ts --snapshot), for A/B

type Guard = {
  admit(input: unknown): unknown;
};
type Admission = { headers: Record<string, string>; settle(actual: unknown): void };

async function load(from: string | undefined) {
  const base = from ? pathToFileURL(`${resolve(from)}/`).href : new URL('../src/', import.meta.url).href;
  const ext = from ? 'js' : 'ts';
  const at = (p: string) => new URL(`${p}.${ext}`, base).href;
  const [{ LimitsGuard }, { MemoryLimitStore }, { planMetering }, { DEFAULT_PRICES }] = await Promise.all([
    import(at('services/limits-guard')),
    import(at('infra/memory-limit-store')),
    import(at('core/metering-plan')),
    import(at('core/pricing')),
  ]);
  return { LimitsGuard, MemoryLimitStore, planMetering, DEFAULT_PRICES };
}

async function main(): Promise<void> {
  const m = await load(process.env.LIMITS_FROM);
  let now = Date.parse('2026-03-10T12:00:00Z');
  const store = new m.MemoryLimitStore();
  // One policy object, as the policy cache holds it until a change (the guard reuses a key's plan while it is the same).
  const policy = { rateLimits: [], spend: null };
  const policies = { get: () => policy };
  const guard: Guard = new m.LimitsGuard({ clock: () => now }, policies, {
    store,
    localStore: store,
    rateLimitFailure: 'open',
    budgetFailure: 'closed',
    defaultMaxOutputTokens: 4096,
    onAlert: () => {},
    onStoreError: (err: unknown) => {
      throw err;
    },
  });
  const record = keyRecord({ limits: structuredClone(LIMITED_KEY_LIMITS) as never });
  const body = JSON.parse(CHAT_BODIES['non-stream']) as Record<string, unknown>;
  const plan = m.planMetering({ method: 'POST', endpoint: '/chat/completions', body, form: null, model: 'gpt-4o-mini', bodyBytes: 64, prices: m.DEFAULT_PRICES, defaultPrice: null });
  // The budget counter starts at zero, as a store seeded from an empty database holds it: the first decision seeds
  // every counter it names, then the store's own method answers again.
  const own = store.acquire;
  store.acquire = function (this: typeof store, rates: unknown, checks: Array<{ keys: string[] }>, nowMs: number) {
    for (const c of checks) for (const k of c.keys) void store.seedCounter(k, 0, 0, nowMs);
    delete (store as { acquire?: unknown }).acquire;
    return own.call(store, rates, checks, nowMs);
  };
  const actual = { tokens: { input: 8, cached: 0, output: 9 }, costNanoUsd: 6_600, billable: true };
  const one = async () => {
    now += 1;
    const input = { record, model: 'gpt-4o-mini', endpoint: '/chat/completions', body, plan, nowMs: now };
    const a = guard.admit(input);
    const admission = (a instanceof Promise ? await a : a) as Admission;
    admission.settle(actual);
  };
  const n = Number(process.env.LIMITS_N ?? 200_000);
  for (let i = 0; i < n / 4; i++) await one();
  const results: number[] = [];
  for (let run = 0; run < 5; run++) {
    // CPU time, not wall time: on a shared machine the process is often off the CPU, which wall time would count.
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await one();
    const used = process.cpuUsage(t0);
    results.push((used.user + used.system) / n);
  }
  const best = Math.min(...results);
  process.stdout.write(`admit + settle (RPM + TPM + monthly budget, in-memory store): ${best.toFixed(2)} µs/request (runs: ${results.map((r) => r.toFixed(2)).join(', ')})\n`);
}

await main();
