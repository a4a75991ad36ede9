import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderKeyWatch } from '../src/core/provider-details.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// An upstream that echoes the request (a diagnostic server, a misconfigured proxy) writes the provider's key, which
// Tollgate added, into its answer. Small text and JSON answers are read whole and cleared of it; found by a review,
// every other answer passed through unsearched: one past 8 MiB (the client sets the size with its own body), or of
// another type (octet-stream, javascript). They are now watched as they pass, and cut before the key.

const ORG = '/v1/organization';
const PROVIDER_KEY = 'sk-provider-SECRET-0123456789';

describe('provider keys in answers passed through', () => {
  let t: TestServer;
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const type = String(req.headers['x-stainless-echo-type'] ?? 'text/plain');
      const auth = req.headers['x-stainless-echo-auth'] === '1' ? String(req.headers.authorization) : '[not echoed]';
      res.writeHead(200, { 'content-type': type });
      if (type.includes('json')) return res.end(JSON.stringify({ data: body, headers: { authorization: auth } }));
      res.end(`You sent:\n${body}\nauthorization: ${auth}\n`);
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({ providers: [{ name: 'fake', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'FAKE_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, FAKE_KEY: PROVIDER_KEY } });
  });
  afterAll(async () => {
    await t?.close();
    up.close();
  });

  /** What the client received, whole or until the answer was cut. */
  const post = async (echoType: string, size: number, echoAuth: boolean) => {
    const key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'k' } })).body.value as string;
    let res: Response;
    try {
      res = await fetch(`${t.url}/v1/vector_stores`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-stainless-echo-type': echoType, 'x-stainless-echo-auth': echoAuth ? '1' : '0' },
        body: JSON.stringify({ name: 'x'.repeat(size) }),
      });
    } catch {
      // Cut before its status line was out (the key in the first chunk).
      return { status: 0, text: '', cut: true };
    }
    const parts: Buffer[] = [];
    let cut = false;
    try {
      for await (const c of res.body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
    } catch {
      cut = true;
    }
    return { status: res.status, text: Buffer.concat(parts).toString('latin1'), cut };
  };

  for (const [type, size] of [
    ['text/plain', 1000],
    ['application/json', 1000],
    ['text/plain', 9 * 1024 * 1024],
    ['application/json', 9 * 1024 * 1024],
    ['application/octet-stream', 1000],
    ['application/javascript', 1000],
  ] as const) {
    it(`never hands out the provider key echoed in ${type}, ${size} bytes; the same answer without it goes through whole`, async () => {
      const echoed = await post(type, size, true);
      expect([0, 200]).toContain(echoed.status);
      expect(echoed.text.includes('0123456789'), `${type} ${size}`).toBe(false);
      const clean = await post(type, size, false);
      expect(clean.cut).toBe(false);
      expect(clean.text.length).toBeGreaterThan(size);
      expect(clean.text).toContain('[not echoed]');
    });
  }
});

describe('ProviderKeyWatch', () => {
  it('finds a key split across chunks at any byte, and hands on the rest of a body without one whole', () => {
    const secret = 'sk-provider-SECRET-0123456789';
    const body = Buffer.from(`${'a'.repeat(50)}authorization: Bearer ${secret}\n${'b'.repeat(50)}`);
    for (let at = 0; at <= body.length; at++) {
      const watch = new ProviderKeyWatch([secret]);
      const first = watch.next(body.subarray(0, at));
      const second = first === null ? null : watch.next(body.subarray(at));
      expect(first === null || second === null, `split at ${at}`).toBe(true);
      // What was handed on before the key was found holds no part of its longest run of letters and digits (the part
      // of a key that is its secret: here the digits; a real key's random body).
      if (first !== null) expect(Buffer.concat(first).toString().includes('0'), `split at ${at}`).toBe(false);
    }
    const clean = Buffer.from('x'.repeat(500));
    for (const size of [1, 3, 17, 500]) {
      const watch = new ProviderKeyWatch([secret]);
      const out: Buffer[] = [];
      for (let at = 0; at < clean.length; at += size) out.push(...(watch.next(clean.subarray(at, at + size)) ?? []));
      out.push(watch.flush());
      expect(Buffer.concat(out).equals(clean), String(size)).toBe(true);
    }
    expect(new ProviderKeyWatch(['short']).watching).toBe(false);
  });
});
