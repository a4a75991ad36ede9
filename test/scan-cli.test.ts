import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { generateSecret } from '../src/core/key-format.js';
import { type FakeKeyServer, startFakeKeyServer } from '../src/scanner/fake-key-server.js';
import { entryArgs, entryCommand } from './harness/entry.js';

// `tollgate scan` end to end against files, throwaway git repositories, and a fake server implementing the lookup
// and report contracts. Most cases run the CLI in this process (runCli, with its own environment and output, in the
// directory a user would run it from): a Node process per case cost a third of the suite's time. The process itself
// is what is under test in a few: its exit code and streams, the progress it draws on a terminal, and the
// pre-commit hook git runs; those spawn the real CLI.

const CLI = entryArgs('src/cli/scan-entry.ts');
const HOOK_COMMAND = entryCommand('src/cli/scan-entry.ts');

const projectKey = () => generateSecret('project', randomBytes);
const ADMIN = generateSecret('admin', randomBytes);
const badChecksum = (key: string) => key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');

// A clean environment: no server configured, git identity set, no inherited TOLLGATE_* variables.
const BASE_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `tollgate scan` in this process, from `cwd` (the test's directory unless given), with only BASE_ENV and
 * `env` as its environment. Whatever it writes to the real stdout or stderr instead of its own output fails the test.
 */
async function scan(args: string[], options: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const leaked: string[] = [];
  const realWrites = { out: process.stdout.write, err: process.stderr.write };
  const previousDir = process.cwd();
  process.chdir(options.cwd ?? dir);
  process.stdout.write = ((chunk: string | Uint8Array) => leaked.push(`stdout: ${chunk}`) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => leaked.push(`stderr: ${chunk}`) > 0) as typeof process.stderr.write;
  let code: number;
  try {
    code = await runCli(['node', 'tollgate', 'scan', ...args], {
      env: { ...BASE_ENV, ...options.env },
      out: (t) => (stdout += t),
      err: (t) => (stderr += t),
    });
  } finally {
    process.stdout.write = realWrites.out;
    process.stderr.write = realWrites.err;
    process.chdir(previousDir);
  }
  expect(leaked, 'written around the CLI\'s own output').toEqual([]);
  return { code, stdout, stderr };
}

/** Runs the real CLI as a child process (asynchronously: the fake server lives in this process and must keep answering). */
function scanProcess(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, 'scan', ...args], { cwd: options.cwd ?? dir, env: { ...BASE_ENV, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectNoSecret(run: Run, ...secrets: string[]): void {
  for (const s of secrets) {
    // The random part is what matters; the redacted form legitimately shows the last four characters.
    expect(run.stdout).not.toContain(s.slice(0, -4));
    expect(run.stderr).not.toContain(s.slice(0, -4));
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-scan-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(join(dir, rel)), { recursive: true });
  await writeFile(join(dir, rel), content);
}

describe('tollgate scan as a process', () => {
  it('exits 0 on a clean tree, and draws no progress when stderr is piped', async () => {
    await put('a.txt', 'nothing here\n');
    const run = await scanProcess(['.']);
    expect(run).toEqual({ code: 0, stdout: 'Scanned 1 file (13 bytes): no secrets found.\n', stderr: '' });
  });

  // script(1) from util-linux runs the command on a pseudo-terminal, so stderr is a TTY.
  const hasScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasScript)('draws progress when stderr is a terminal, and clears it', async () => {
    await put('a.txt', 'nothing here\n');
    const out = execFileSync('script', ['-qec', `${entryCommand('src/cli/scan-entry.ts').replace(/^'node'/, `'${process.execPath}'`)} scan .`, '/dev/null'], {
      cwd: dir,
      env: BASE_ENV,
      encoding: 'latin1',
    });
    expect(out).toMatch(/^\r\x1b\[2Kscanning: 1 files, 13 bytes\r\x1b\[2KScanned 1 file/);
  });

  it('exits 1 on a valid key it cannot check, printing only its redacted form', async () => {
    const k = projectKey();
    await put('src/config.ts', `export const key =\n  '${k}';\n`);
    for (const run of [await scanProcess([]), await scan([])]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`src/config.ts:2:4  Tollgate project key sk-tg-…${k.slice(-4)}  NOT CHECKED`);
      expect(run.stderr).toBe('error: found 1 Tollgate key that is live or could not be checked (no --server to check them against)\n');
      expectNoSecret(run, k);
    }
  });
});

describe('tollgate scan (files, offline)', () => {
  it('exits 0 on a clean tree, printing nothing on stderr', async () => {
    await put('a.txt', 'nothing here\n');
    const run = await scan(['.']);
    expect(run).toEqual({ code: 0, stdout: 'Scanned 1 file (13 bytes): no secrets found.\n', stderr: '' });
  });

  it('exits 0 when the only look-alike fails its checksum', async () => {
    await put('a.txt', badChecksum(projectKey()));
    const run = await scan(['.']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no secrets found');
  });

  it('finds a key in a binary file', async () => {
    const k = projectKey();
    await put('blob.bin', Buffer.concat([Buffer.from([0, 0, 7, 0]), Buffer.from(k), Buffer.from([0, 255])]));
    const run = await scan(['.', '--json']);
    expect(JSON.parse(run.stdout).findings).toMatchObject([{ file: 'blob.bin', line: 1, column: 5 }]);
  });

  it('reports other providers\' keys without failing, unless --fail-on-any', async () => {
    await put('aws.txt', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n');
    const run = await scan(['.']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('aws.txt:1:21  AWS key (other provider) AKIA…MPLE');
    const strict = await scan(['.', '--fail-on-any']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe('error: found 1 secret (--fail-on-any)\n');
  });

  it('skips files over --max-file-size with a note on stderr', async () => {
    await put('big.txt', `${projectKey()}${'x'.repeat(2048)}`);
    const run = await scan(['.', '--max-file-size', '1KB']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^note: skipped big\.txt: 2\.\d KB is over the 1 KB limit \(--max-file-size\)\n$/);
  });

  it('prints SARIF without the secret', async () => {
    const k = projectKey();
    await put('a.env', k);
    const run = await scan(['.', '--sarif']);
    expect(run.code).toBe(1);
    const log = JSON.parse(run.stdout);
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0].results).toMatchObject([{ ruleId: 'tollgate-secret', level: 'error' }]);
    expectNoSecret(run, k);
  });

  it.each([
    [['--json', '--sarif'], '--json and --sarif cannot be combined'],
    [['--git', '--staged'], '--git and --staged cannot be combined'],
    [['--git', 'a', 'b'], '--git and --staged scan one repository at a time'],
    [['--max-file-size', 'huge'], "--max-file-size expects a size such as 50MB or 512KB, got 'huge'"],
    [['--max-file-size', '1GB'], '--max-file-size can be at most 500 MB'],
    [['--report'], '--report needs --server and --admin-key (or TOLLGATE_URL and TOLLGATE_ADMIN_KEY)'],
    [['--server', 'http://127.0.0.1:1'], '--server needs --admin-key (or TOLLGATE_ADMIN_KEY)'],
  ])('rejects %j', async (args, message) => {
    const run = await scan(args);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `error: ${message}\n` });
  });
});

describe('tollgate scan with a server', () => {
  let server: FakeKeyServer;
  let live: string;
  let revoked: string;
  let stranger: string;
  beforeEach(async () => {
    [live, revoked, stranger] = [projectKey(), projectKey(), projectKey()];
    server = await startFakeKeyServer(ADMIN, [
      { secret: live, id: 'key_live', kind: 'project', project_id: 'proj_app', name: 'deploy', status: 'active' },
      { secret: revoked, id: 'key_old', kind: 'project', project_id: 'proj_app', name: 'old', status: 'revoked' },
    ]);
  });
  afterEach(async () => {
    await server.close();
  });

  it('shows whether each key is live and whose it is, and fails on the live one', async () => {
    await put('a.env', `LIVE=${live}\nOLD=${revoked}\nOTHER=${stranger}\n`);
    const run = await scan(['.', '--json', '--server', server.url, '--admin-key', ADMIN]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.summary).toEqual({ files: 1, bytes: 3 * 52 + 5 + 4 + 6 + 3, commits: 0, findings: 3 });
    expect(doc.findings).toEqual([
      {
        type: 'tollgate',
        secondary: false,
        file: 'a.env',
        line: 1,
        column: 6,
        commit: null,
        redacted: `sk-tg-…${live.slice(-4)}`,
        kind: 'project',
        live: true,
        key_id: 'key_live',
        key_name: 'deploy',
        project_id: 'proj_app',
        status: 'active',
      },
      expect.objectContaining({ line: 2, live: false, key_id: 'key_old', status: 'revoked' }),
      expect.objectContaining({ line: 3, live: false, status: 'unknown' }),
    ]);
    expect(run.stderr).toBe('error: found 1 Tollgate key that is live or could not be checked\n');
    expectNoSecret(run, live, revoked, stranger, ADMIN);
  });

  it('exits 0 when every key found is dead or unknown to the server, using TOLLGATE_URL and TOLLGATE_ADMIN_KEY', async () => {
    await put('a.env', `${revoked}\n${stranger}\n`);
    const run = await scan(['.'], { env: { TOLLGATE_URL: server.url, TOLLGATE_ADMIN_KEY: ADMIN } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`a.env:1:1  Tollgate project key sk-tg-…${revoked.slice(-4)}  revoked: key_old "old" in proj_app`);
    expect(run.stdout).toContain('a.env:2:1  Tollgate project key');
    expect(run.stdout).toContain('not a key of this server');
  });

  it('fails when the server cannot be reached, with a warning', async () => {
    await server.close();
    await put('a.env', revoked);
    const run = await scan(['.', '--server', server.url, '--admin-key', ADMIN]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^warning: could not check them with http:\/\/127\.0\.0\.1:\d+: fetch failed: .*ECONNREFUSED/);
    expect(run.stdout).toContain('NOT CHECKED');
  });

  it('--report reports each key once, prints what was disabled, and the next scan passes', async () => {
    await put('a.env', `${live}\n${live}\n${stranger}\n`);
    const run = await scan(['.', '--report', '--server', server.url, '--admin-key', ADMIN]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`Reported sk-tg-…${live.slice(-4)} as exposed: disabled.`);
    expect(run.stdout).toContain(`Reported sk-tg-…${stranger.slice(-4)} as exposed: not disabled`);
    const report = server.requests.find((r) => r.path.endsWith('/report_exposed'));
    expect(report?.body).toEqual({
      reports: [
        { token: live, url: `${pathToFileURL(join(dir, 'a.env')).href}#L1`, source: 'tollgate-scan' },
        { token: stranger, url: `${pathToFileURL(join(dir, 'a.env')).href}#L3`, source: 'tollgate-scan' },
      ],
    });
    expectNoSecret(run, live, stranger);
    const again = await scan(['.', '--server', server.url, '--admin-key', ADMIN]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('exposed: key_live');
  });

  it('--git and --staged --report say which commit (or the index) and path each key was found at', async () => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: BASE_ENV, encoding: 'utf8' }).trim();
    git('init', '-q');
    await put('conf/a b.env', `\n${live}`);
    git('add', '.');
    git('commit', '-qm', 'leak');
    const commit = git('rev-parse', 'HEAD');
    const run = await scan(['--git', '--report', '--server', server.url, '--admin-key', ADMIN]);
    expect(run.stdout).toContain('as exposed: disabled.');
    const report = server.requests.find((r) => r.path.endsWith('/report_exposed'));
    expect(report?.body).toEqual({
      reports: [{ token: live, url: `${pathToFileURL(dir).href}#${commit}:conf/a%20b.env:2`, source: 'tollgate-scan' }],
    });

    await put('staged.env', stranger);
    git('add', 'staged.env');
    server.requests.length = 0;
    await scan(['--staged', '--report', '--server', server.url, '--admin-key', ADMIN]);
    expect(server.requests.find((r) => r.path.endsWith('/report_exposed'))?.body).toEqual({
      reports: [{ token: stranger, url: `${pathToFileURL(dir).href}#staged:staged.env:1`, source: 'tollgate-scan' }],
    });
  });

  it('--report --json lists the server\'s labels', async () => {
    await put('a.env', live);
    const run = await scan(['.', '--report', '--json', '--server', server.url, '--admin-key', ADMIN]);
    expect(JSON.parse(run.stdout).reports).toEqual([{ redacted: `sk-tg-…${live.slice(-4)}`, label: 'true_positive', disabled: true, status: 'exposed' }]);
  });

  it('--report fails loudly when the server refuses the report', async () => {
    await put('a.env', stranger);
    const run = await scan(['.', '--report', '--server', server.url, '--admin-key', 'sk-tg-admin-wrong']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('warning: could not check them');
    expect(run.stderr).toMatch(/error: reporting to http:\/\/127\.0\.0\.1:\d+ failed: .*HTTP 401/);
    // Which key was not reported, where it is seen: it may still be live.
    expect(run.stdout).toContain(`Could not report sk-tg-…${stranger.slice(-4)} as exposed (`);
    expect(run.stderr).toContain(`(1 of 1 key not reported, still live if they were: sk-tg-…${stranger.slice(-4)})`);
    const json = await scan(['.', '--report', '--json', '--server', server.url, '--admin-key', 'sk-tg-admin-wrong']);
    expect(JSON.parse(json.stdout).reports).toEqual([
      { redacted: `sk-tg-…${stranger.slice(-4)}`, label: null, disabled: null, status: null, error: expect.stringMatching(/HTTP 401/) },
    ]);
  });
});

describe('tollgate scan --git and --staged', () => {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: BASE_ENV, encoding: 'utf8' }).trim();

  it('--git finds a key in a file deleted long ago, with its commit', async () => {
    const k = projectKey();
    git('init', '-q');
    await put('secrets.env', `\n\nKEY=${k}\n`);
    git('add', '.');
    git('commit', '-qm', 'add');
    const leak = git('rev-parse', 'HEAD');
    git('rm', '-q', 'secrets.env');
    git('commit', '-qm', 'remove');
    for (let i = 0; i < 5; i++) git('commit', '-q', '--allow-empty', '-m', `later ${i}`);
    const files = await scan(['.']);
    expect(files.code).toBe(0);
    const run = await scan(['--git', '--json']);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.findings).toMatchObject([{ file: 'secrets.env', line: 3, column: 5, commit: leak }]);
    expect(doc.summary).toMatchObject({ commits: 7, files: 1 });
    const text = await scan(['--git']);
    expect(text.stdout).toContain(`${leak.slice(0, 12)}:secrets.env:3:5  Tollgate project key`);
  });

  it('--git finds keys in older stashes and in blobs only a tag reaches, says where, and prints none in full', async () => {
    const [stashed, tagged] = [projectKey(), generateSecret('admin', randomBytes)];
    git('init', '-q');
    await put('a.txt', 'hi');
    git('add', '.');
    git('commit', '-qm', 'init');
    await put('a.txt', `KEY=${stashed}`);
    git('stash', '-q');
    await put('a.txt', 'KEY=');
    git('stash', '-q');
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: `T=${tagged}`, encoding: 'utf8' }).trim();
    git('tag', 'blob-tag', blob);
    const run = await scan(['--git', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).findings).toMatchObject([
      { file: 'a.txt', commit: git('rev-parse', 'stash@{1}'), redacted: `sk-tg-…${stashed.slice(-4)}` },
      { file: 'refs/tags/blob-tag', commit: null, found_in: 'ref', kind: 'admin', line: 1, column: 3 },
    ]);
    const text = await scan(['--git']);
    expect(text.stdout).toContain(`refs/tags/blob-tag:1:3  Tollgate admin key sk-tg-admin-…${tagged.slice(-4)}`);
    expectNoSecret(run, stashed, tagged);
    expectNoSecret(text, stashed, tagged);
  });

  it('the installed pre-commit hook blocks a staged valid key and lets a look-alike through', async () => {
    const k = projectKey();
    git('init', '-q');
    const install = await scan(['--install-hook', '--repo', dir, '--hook-command', HOOK_COMMAND]);
    expect(install).toMatchObject({ code: 0, stdout: `Pre-commit hook installed: ${join(dir, '.git', 'hooks', 'pre-commit')}\n` });

    await put('decoy.txt', badChecksum(k));
    git('add', 'decoy.txt');
    git('commit', '-qm', 'decoy');
    expect(git('log', '--format=%s')).toBe('decoy');

    await put('leak.env', `KEY=${k}\n`);
    git('add', 'leak.env');
    let failure: { status: number; stdout: string; stderr: string } | null = null;
    try {
      execFileSync('git', ['commit', '-qm', 'leak'], { cwd: dir, env: BASE_ENV, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      failure = err as { status: number; stdout: string; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(`leak.env:1:5  Tollgate project key sk-tg-…${k.slice(-4)}`);
    expect(git('log', '--format=%s')).toBe('decoy');
  });

  it('--install-hook keeps an existing different hook unless --force', async () => {
    git('init', '-q');
    await put('.git/hooks/pre-commit', '#!/bin/sh\nexit 0\n');
    const run = await scan(['--install-hook', '--repo', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('already exists and is not Tollgate\'s hook; re-run with --force');
    const forced = await scan(['--install-hook', '--repo', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('replaced (old hook kept as');
  });
});
