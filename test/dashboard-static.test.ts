import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { precompressDir } from '../dashboard/precompress.js';
import { registerDashboardStatic } from '../src/http/dashboard/static.js';
import { installErrorHandling } from '../src/http/shared/errors.js';

// The dashboard's assets are compressed once at build time and served by Accept-Encoding (issue 19).

describe('precompressed dashboard assets', () => {
  let dist: string;
  let app: FastifyInstance;
  const js = `export const words = ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `word-${i % 97}`))};\n`;
  const css = `.a{color:red}\n`.repeat(200);
  const tiny = 'console.log(1);\n';

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'tollgate-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Tollgate</title><div id="app"></div>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), js);
    writeFileSync(join(dist, 'assets', 'index-abc123.css'), css);
    writeFileSync(join(dist, 'assets', 'tiny-abc123.js'), tiny);
    writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    precompressDir(dist);
    app = Fastify();
    installErrorHandling(app);
    await app.register(async (scope) => registerDashboardStatic(scope, dist));
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('writes .br and .gz beside each asset they shrink, and none for files under 1 KB', () => {
    expect(readdirSync(join(dist, 'assets')).sort()).toEqual([
      'index-abc123.css',
      'index-abc123.css.br',
      'index-abc123.css.gz',
      'index-abc123.js',
      'index-abc123.js.br',
      'index-abc123.js.gz',
      'tiny-abc123.js',
    ]);
  });

  const get = (url: string, acceptEncoding?: string) =>
    app.inject({ method: 'GET', url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

  it('sends Brotli to browsers that accept it, with its encoding, type, caching and security headers', async () => {
    const res = await get('/assets/index-abc123.js', 'gzip, deflate, br, zstd');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers.vary).toMatch(/accept-encoding/i);
    expect(res.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(brotliDecompressSync(res.rawPayload).toString()).toBe(js);
    expect(res.rawPayload.length).toBeLessThan(js.length / 3);
  });

  it('sends gzip to browsers without Brotli, and the file itself to those that ask for neither', async () => {
    const gz = await get('/assets/index-abc123.css', 'gzip, deflate');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['content-type']).toMatch(/^text\/css/);
    expect(gunzipSync(gz.rawPayload).toString()).toBe(css);
    for (const accept of [undefined, 'identity', 'deflate']) {
      const plain = await get('/assets/index-abc123.css', accept);
      expect(plain.statusCode, String(accept)).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      // The answer depends on Accept-Encoding even when uncompressed: shared caches must key on it.
      expect(plain.headers.vary).toMatch(/accept-encoding/i);
      expect(plain.body).toBe(css);
    }
    const small = await get('/assets/tiny-abc123.js', 'br, gzip');
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body).toBe(tiny);
  });

  it('gives the compressed copies no URL of their own, and keeps index.html revalidated', async () => {
    for (const url of ['/assets/index-abc123.js.br', '/assets/index-abc123.js.gz']) {
      const res = await get(url, 'br');
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('unknown_url');
    }
    const index = await get('/', 'br, gzip');
    expect(index.statusCode).toBe(200);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.body).toContain('<div id="app">');
  });
});
