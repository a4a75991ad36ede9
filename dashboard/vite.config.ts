import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { precompress } from './precompress.js';

const root = fileURLToPath(new URL('.', import.meta.url));

// The dashboard is a static bundle served by Tollgate itself at `/` (src/http/dashboard/static.ts).
// Vite requires a default export here.
export default defineConfig({
  root,
  base: '/',
  // Preact's automatic JSX runtime; Vite 8 transforms with Oxc (its `esbuild` option is deprecated).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // .br and .gz of every asset, served by static.ts with Content-Encoding.
  plugins: [precompress()],
  resolve: {
    alias: {
      react: 'preact/compat',
      'react-dom': 'preact/compat',
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The CSP forbids inline scripts; the polyfill would be one, and every supported browser has modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '/auth': 'http://127.0.0.1:8484',
      '/v1': 'http://127.0.0.1:8484',
    },
  },
});
