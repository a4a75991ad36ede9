import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Issue 18 §1: each context is built once, by its composition root, and never rewired afterwards. They are frozen, so
// an assignment to one throws instead of quietly changing what every holder sees.
describe('contexts', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
  });
  afterAll(() => t?.close());

  it('are frozen once built: the runtime, its service dependencies, the HTTP context and the gateway context', () => {
    const { runtime, gateway } = t.server;
    for (const [name, ctx] of [
      ['runtime', runtime],
      ['deps', runtime.deps],
      ['app', gateway.app],
      ['gateway', gateway],
    ] as const) {
      expect(Object.isFrozen(ctx), name).toBe(true);
    }
    expect(() => {
      (gateway as { observe?: unknown }).observe = undefined;
    }).toThrow(TypeError);
    // The gateway reports upstream times through what it was built with, not through a member set afterwards.
    expect(gateway.observe).toBeTypeOf('object');
  });
});
