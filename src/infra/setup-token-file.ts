import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SetupTokenFile } from '../core/ports.js';

/** The setup token's file in a data dir: `setup-token`, readable by the server's user only (0600). */
export function setupTokenFile(dataDir: string): SetupTokenFile {
  const path = join(dataDir, 'setup-token');
  return {
    path,
    read() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8').trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      return text || null;
    },
    write(token) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      rmSync(path, { force: true });
      // 'wx' creates the file or fails: never writes through a link someone left at the path.
      writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600);
    },
    remove() {
      rmSync(path, { force: true });
    },
  };
}
