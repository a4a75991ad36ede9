import { spawn } from 'node:child_process';

// Runs git as a child process and streams its output. log.showSignature=true would put gpg's verdict
// ("No signature", "Good signature…") into `git log` output whatever --format says, so it is pinned off.
// (Colour and path quoting need no pin: raw -z output and cat-file ignore them.)
// Replace refs (`git replace`, refs/replace/*) are off: with them git shows one object's content in place of
// another's, while both stay in the store and are pushed, so a key in a replaced blob, commit message or tree was never
// read. --no-replace-objects alone is not enough: core.useReplaceRefs=true in a repository's config (git 2.39) turns
// them back on, and the command line's -c outranks it. Every git the scanner runs is started here.
const PINNED_CONFIG = ['--no-replace-objects', '-c', 'core.useReplaceRefs=false', '-c', 'log.showSignature=false'];

/** Runs `git <args>` in `cwd`, feeding `input` to stdin and each stdout chunk to `onChunk`. */
export function streamGit(cwd: string, args: readonly string[], onChunk: (chunk: Buffer) => void, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...PINNED_CONFIG, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: Buffer[] = [];
    let failed: unknown = null;
    child.stdout.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        onChunk(chunk);
      } catch (err) {
        failed = err;
        child.kill();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    // git may exit before reading all of stdin (bad repository); that EPIPE is reported by 'close'.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (failed) reject(failed);
      else if (code === 0) resolve();
      else reject(new Error(`git ${args[0]} failed in ${cwd}: ${Buffer.concat(stderr).toString('utf8').trim() || `exit code ${code}`}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Runs `git <args>` in `cwd` and returns its whole stdout. */
export async function runGit(cwd: string, args: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamGit(cwd, args, (c) => chunks.push(c));
  return Buffer.concat(chunks);
}
