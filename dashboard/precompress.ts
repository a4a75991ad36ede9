import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

// Tollgate serves the dashboard itself (src/http/dashboard/static.ts). Compressing on every request would cost CPU
// on the gateway's machine; compressing once at build time costs nothing at run time: each text asset gets a .br
// (Brotli at its best quality) and a .gz (gzip -9) beside it, and the server picks one by the browser's Accept-Encoding.

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt)$/;
/** Below this size a compressed copy saves less than the header that announces it. */
const MIN_BYTES = 1024;

/** Writes `.br` and `.gz` beside every compressible file of `dir` (recursively) that they make smaller. */
export function precompressDir(dir: string): Array<{ file: string; bytes: number; br: number | null; gz: number | null }> {
  const out: Array<{ file: string; bytes: number; br: number | null; gz: number | null }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(...precompressDir(path));
      continue;
    }
    if (!COMPRESSIBLE.test(name)) continue;
    const raw = readFileSync(path);
    if (raw.length < MIN_BYTES) continue;
    const br = brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    });
    const gz = gzipSync(raw, { level: 9 });
    const keepBr = br.length < raw.length;
    const keepGz = gz.length < raw.length;
    if (keepBr) writeFileSync(`${path}.br`, br);
    if (keepGz) writeFileSync(`${path}.gz`, gz);
    out.push({ file: path, bytes: raw.length, br: keepBr ? br.length : null, gz: keepGz ? gz.length : null });
  }
  return out;
}

/** The Vite plugin: precompresses the output directory once the bundle is written. */
export function precompress(): { name: string; apply: 'build'; writeBundle(options: { dir?: string }): void } {
  return {
    name: 'tollgate-precompress',
    apply: 'build',
    writeBundle(options) {
      if (options.dir) precompressDir(options.dir);
    },
  };
}
