import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The shortest server secret taken: TOLLGATE_SECRET's minimum (config/config.ts). */
const MIN_SECRET_LENGTH = 32;

/** A server secret file that cannot be used (empty, cut short): said in words main.ts and the CLI print as they are. */
export class ServerSecretFileError extends Error {
  readonly readable = true;
}

/**
 * The server secret kept in the data dir's `secret` (0600), made on the first start: written whole to a temp file in
 * the same dir and flushed to disk, then linked into place, which fails if another start linked its own first (that
 * one is then read and used: several first starts at once end with one secret). A reader never sees it half written.
 * Found by a durability review: written in place and read back unchecked, an empty file (a crash between its creation
 * and its write, or a CLI reading it while the first start wrote it) made '' the secret, silently; two first starts
 * at once made one of them fail (EEXIST).
 */
export function readOrCreateServerSecret(dataDir: string): string {
  return serverSecretFile(dataDir).secret;
}

/** readOrCreateServerSecret, saying whether this call made the file. */
export function serverSecretFile(dataDir: string): { secret: string; file: string; created: boolean } {
  const file = join(dataDir, 'secret');
  const existing = readSecretFile(file);
  if (existing !== null) return { secret: existing, file, created: false };
  const secret = randomBytes(32).toString('base64url');
  const temp = join(dataDir, `.secret-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeWhole(temp, `${secret}\n`);
    try {
      linkSync(temp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return { secret: theirs(file, err), file, created: false };
      if (!NO_HARD_LINKS.has(code ?? '')) throw err;
      // A file system without hard links: created in place, exclusively (a reader meanwhile may find it short, and
      // is refused; never given a wrong secret).
      try {
        writeWhole(file, `${secret}\n`);
      } catch (inPlace) {
        if ((inPlace as NodeJS.ErrnoException).code === 'EEXIST') return { secret: theirs(file, inPlace), file, created: false };
        throw inPlace;
      }
    }
  } finally {
    rmSync(temp, { force: true });
  }
  syncDir(dataDir);
  return { secret, file, created: true };
}

/**
 * Removes the secret file this start made, when the database refused its secret (a CLI run elsewhere, or without the
 * server's TOLLGATE_SECRET on its data dir): a secret no start can use is not left where the next would take it.
 * Only while it still holds that secret.
 */
export function forgetServerSecretFile(file: string, secret: string): void {
  try {
    const digest = (text: string) => createHash('sha256').update(text).digest();
    if (timingSafeEqual(digest(readFileSync(file, 'utf8').trim()), digest(secret))) rmSync(file, { force: true });
  } catch {
    // gone already
  }
}

/** Errors of a file system that has no hard links (some network and FUSE mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** The secret another start made first (linked whole, so never half written). */
function theirs(file: string, err: unknown): string {
  const secret = readSecretFile(file);
  if (secret === null) throw err;
  return secret;
}

/** Creates `path` (or fails if it exists: never written through a link someone left there), 0600 whatever the umask, with `text` flushed to disk. */
function writeWhole(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The secret in `file`, or null when there is none; throws ServerSecretFileError for one too short to be a secret. */
function readSecretFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const secret = text.trim();
  if (secret.length >= MIN_SECRET_LENGTH) {
    keepPrivate(file);
    return secret;
  }
  // Its text is never quoted: part of a secret is still a secret.
  throw new ServerSecretFileError(
    `the server secret file ${file} is ${secret.length === 0 ? 'empty' : `shorter than ${MIN_SECRET_LENGTH} characters`} (cut short by a crash while it was first written?): ` +
      `set TOLLGATE_SECRET to the secret this server used, or, if it never had one, remove the file and start again to generate a new one ` +
      '(what was sealed under another secret, runtime providers\' keys and webhook signing secrets, must then be entered again)',
  );
}

/**
 * Makes a secret file others may read (written by hand, or by an earlier version under a loose umask) 0600, as the
 * database files are made at each start; left as it is when this user may not (a CLI run as another user).
 */
function keepPrivate(file: string): void {
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // not this user's file
  }
}

/** Flushes a directory's entries (the new file's name) to disk; not every platform can (Windows): best effort. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the file itself is flushed; its name is on disk at the next sync of the file system
  }
}
