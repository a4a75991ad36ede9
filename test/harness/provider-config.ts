import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderConfig } from '../../src/config/gateway-config.js';

/** Starts `server` on a free loopback port; its origin (`http://127.0.0.1:port`). */
export async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * An OpenAI-compatible provider's resolved config at `baseUrl`, with these keys (`[id, key, weight?]`, the first also
 * as its `apiKey`), as HttpUpstream's tests build one; `extra` replaces any member.
 */
export function testProviderConfig(name: string, baseUrl: string, keys: ReadonlyArray<readonly [string, string, number?]>, extra: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name,
    kind: 'openai',
    baseUrl,
    apiKey: keys[0][1],
    auth: 'bearer',
    apiVersion: null,
    deployments: {},
    credentials: keys.map(([id, apiKey, weight]) => ({ id, apiKey, weight: weight ?? 1 })),
    maxAttempts: keys.length,
    circuitBreaker: null,
    headers: {},
    models: null,
    timeouts: { connectMs: 2000, firstByteMs: 5000, totalMs: 10_000 },
    retries: 0,
    connections: 4,
    projects: {},
    ...extra,
  };
}
