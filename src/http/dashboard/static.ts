import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { installSecurityHeaders } from './security-headers.js';

/** Where `vite build` puts the dashboard: <repo>/dashboard/dist (same depth from src/ and from the compiled dist/). */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate</title></head>
<body><h1>Tollgate</h1>
<p>The web dashboard has not been built. Run <code>npm run build</code> in the Tollgate directory, then restart the server.</p>
<p>The API is running: see <code>/v1/organization/…</code> and <code>/healthz</code>.</p>
</body></html>
`;

/**
 * Serves the built dashboard at `/`. Vite names assets by content hash, so they are cached for a year as
 * immutable; index.html is revalidated on every load so a new build is picked up at once. Assets are compressed at
 * build time (dashboard/precompress.ts): a browser that accepts Brotli gets the `.br`, else gzip's `.gz`, else the
 * file itself, with `Content-Encoding` and `Vary: Accept-Encoding`; the compressed copies have no URL of their own.
 */
export async function registerDashboardStatic(app: FastifyInstance, distDir: string = DEFAULT_DIST_DIR): Promise<void> {
  installSecurityHeaders(app);
  if (!existsSync(join(distDir, 'index.html'))) {
    app.get('/', async (_request, reply) => {
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      return NOT_BUILT;
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/',
    // Routes for the files present at start-up only, so unknown URLs keep the API's JSON 404.
    wildcard: false,
    index: ['index.html'],
    redirect: false,
    cacheControl: false,
    dotfiles: 'ignore',
    preCompressed: true,
    globIgnore: ['**/*.br', '**/*.gz'],
    setHeaders(reply, path) {
      const isHashedAsset = path.includes(`${join(distDir, 'assets')}`);
      reply.header('cache-control', isHashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
