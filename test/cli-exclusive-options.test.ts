import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

// Found by a new-user walkthrough: `providers credentials add groq --value K --value-stdin` was accepted, --value
// winning and standard input left unread. Options that exclude each other are now refused when given together, before
// anything is read or written, and so are `scan`'s options that only one of its two jobs (scanning, installing the
// pre-commit hook) reads: given to the other, they were ignored.

describe('CLI options that exclude each other', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-exclusive-'));
    env = { TOLLGATE_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const asked: string[] = [];
  async function cli(...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], {
      env,
      out: (t) => (out += t),
      err: (t) => (err += t),
      readStdin: async () => {
        asked.push('stdin');
        return 'sk-from-stdin-0123456789\n';
      },
      promptHidden: async () => {
        asked.push('terminal');
        return 'sk-from-terminal-0123456789';
      },
    });
    return { code, out, err };
  }

  it('refuses --value with --value-stdin, reading and adding nothing', async () => {
    const created = await cli('--json', 'providers', 'create', 'groq', '--base-url', 'https://api.groq.com/openai/v1', '--model-prefix', 'llama-');
    expect(created.code, created.err).toBe(0);
    const add = await cli('providers', 'credentials', 'add', 'groq', '--value', 'sk-from-argument-0123456789', '--value-stdin');
    expect(add.code).toBe(1);
    expect(add.err).toMatch(/--value.* cannot be used with .*--value-stdin|--value-stdin.* cannot be used with .*--value/);
    const rotate = await cli('providers', 'credentials', 'rotate', 'groq', 'cred_x', '--value-stdin', '--value', 'sk-from-argument-0123456789');
    expect(rotate.code).toBe(1);
    expect(rotate.err).toMatch(/cannot be used with/);
    expect(asked).toEqual([]);
    expect((await cli('--json', 'providers', 'credentials', 'list', 'groq')).out).toContain('"data": []');
    // Each alone is taken.
    expect((await cli('providers', 'credentials', 'add', 'groq', '--value-stdin')).code).toBe(0);
    expect(asked).toEqual(['stdin']);
  });

  it("refuses scan's options given to the job that does not read them", async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    // Every case names a temporary repository or path: a refusal that did not happen must not touch the checkout the
    // test runs in (a hook installed in `.` would be the checkout's).
    for (const [args, message] of [
      [['--install-hook', '--repo', repo, '--git'], /--git cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, '--staged'], /--staged cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, '--sarif'], /--sarif cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, '--report'], /--report cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, '--fail-on-any'], /--fail-on-any cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, '--max-file-size', '1MB'], /--max-file-size cannot be used with --install-hook/],
      [['--install-hook', '--repo', repo, repo], /--install-hook takes no paths: give the repository with --repo/],
      [['--repo', repo, dir], /--repo needs --install-hook/],
      [['--hook-command', 'npm test', dir], /--hook-command needs --install-hook/],
      [['--force', dir], /--force needs --install-hook/],
    ] as Array<[string[], RegExp]>) {
      const r = await cli('scan', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.out, args.join(' ')).toBe('');
    }
    expect(existsSync(join(repo, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });
});
