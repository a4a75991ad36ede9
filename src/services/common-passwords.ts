import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

// The list of common passwords (assets/README.md says where it comes from): one lower-cased password a line,
// gzipped. Resolved from this file, so it is found from src/ (tsx, tests) and from dist/ (npm start) alike.
const LIST_URL = new URL('../../assets/common-passwords.txt.gz', import.meta.url);

let loaded: Promise<ReadonlySet<string>> | null = null;

/** The common-password list, read and unpacked once, on first use. */
export function commonPasswords(): Promise<ReadonlySet<string>> {
  loaded ??= (async () => {
    const text = (await promisify(gunzip)(await readFile(LIST_URL))).toString('utf8');
    return new Set(text.split('\n').filter(Boolean));
  })().catch((err: unknown) => {
    loaded = null; // a failed read is retried by the next caller rather than cached
    throw err;
  });
  return loaded;
}

/** Whether a password is on the list (compared lower-cased, as the list is stored). */
export async function isCommonPassword(password: string): Promise<boolean> {
  return (await commonPasswords()).has(password.toLowerCase());
}
