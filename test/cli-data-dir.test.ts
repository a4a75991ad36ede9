import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { entryArgs } from './harness/entry.js';

// Found by a new-user walkthrough: the CLI's default data dir, `./data`, is relative to where it runs. Run from a
// subdirectory, it silently made a new organization there and printed an admin key the running server did not know.
// Now a command that makes a new data dir says so on standard error, with its absolute path (standard output is the
// same, for scripts), and a command that only reads refuses to make one: an empty new organization answering (none)
// would say nothing is there.

describe('CLI and a data dir that does not exist', () => {
  let parent: string;
  beforeAll(() => {
    parent = realpathSync(mkdtempSync(join(tmpdir(), 'tollgate-cli-data-dir-')));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  async function cli(dataDir: string, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], { env: { TOLLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  it('refuses a command that only reads, making no data dir', async () => {
    const dataDir = join(parent, 'unread');
    for (const args of [
      ['projects', 'list'],
      ['admin-keys', 'list'],
      ['keys', 'list'],
      ['keys', 'show', 'key_x'],
      ['limits', 'list'],
      ['objects', 'list'],
      ['providers', 'list'],
      ['providers', 'credentials', 'list', 'groq'],
      ['audit'],
      ['usage'],
      ['users', 'list'],
      ['invites', 'list'],
      ['projects', 'users', 'list'],
      ['service-accounts', 'list'],
    ]) {
      const r = await cli(dataDir, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toContain(`no Tollgate data directory at ${dataDir}`);
      expect(r.err, args.join(' ')).toMatch(/TOLLGATE_DATA_DIR/);
      expect(r.out, args.join(' ')).toBe('');
      expect(existsSync(dataDir), args.join(' ')).toBe(false);
    }
  });

  it('says on standard error where it made a new data dir, once, and leaves standard output as it was', async () => {
    const dataDir = join(parent, 'made');
    const r = await cli(join(parent, 'elsewhere', '..', 'made'), '--json', 'admin-keys', 'create', '--name', 'ops');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).value).toMatch(/^sk-tg-admin-/);
    expect(r.err).toBe(`Created a new Tollgate data directory at ${dataDir} (set TOLLGATE_DATA_DIR to use another)\n`);
    expect(existsSync(dataDir)).toBe(true);
    const again = await cli(dataDir, '--json', 'projects', 'list');
    expect(again.code).toBe(0);
    expect(again.err).toBe('');
    // An existing empty directory is the operator's choice (mkdir first): used as it is, without a word.
    const empty = join(parent, 'empty');
    mkdirSync(empty);
    const quiet = await cli(empty, '--json', 'projects', 'list');
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toBe('');
  });

  it('names the absolute path of the default ./data when run from a subdirectory', async () => {
    const sub = join(parent, 'sub');
    mkdirSync(sub);
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
    for (const name of ['TOLLGATE_DATA_DIR', 'DATABASE_URL', 'TOLLGATE_URL', 'TOLLGATE_ADMIN_KEY']) delete env[name];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...entryArgs('src/cli/run.ts'), 'admin-keys', 'create', '--name', 'ops', '--json'], { cwd: sub, env });
    expect(JSON.parse(stdout).value).toMatch(/^sk-tg-admin-/);
    expect(stderr).toContain(`Created a new Tollgate data directory at ${join(sub, 'data')} (set TOLLGATE_DATA_DIR to use another)`);
  });
});

// Found by review: the read-only refusal looked only at whether DATABASE_URL was set, so `sqlite:PATH` to a file that
// does not exist made a new, empty organization there and answered "(none)"; and the "Created a new Tollgate data
// directory" notice was printed whenever the directory was absent at the start, even when nothing made it (the
// database elsewhere and TOLLGATE_SECRET given).
describe('CLI and a database outside the data dir', () => {
  let parent: string;
  beforeAll(() => {
    parent = realpathSync(mkdtempSync(join(tmpdir(), 'tollgate-cli-db-file-')));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  async function cli(env: Record<string, string>, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], { env: { LOG_LEVEL: 'silent', ...env }, out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  it('refuses a command that only reads a sqlite:PATH that does not exist, making nothing', async () => {
    const dataDir = join(parent, 'dir');
    mkdirSync(dataDir);
    const file = join(parent, 'nowhere.db');
    const r = await cli({ TOLLGATE_DATA_DIR: dataDir, DATABASE_URL: `sqlite:${file}` }, 'projects', 'list');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no Tollgate database at ${file}`);
    expect(r.out).toBe('');
    expect(existsSync(file)).toBe(false);
    // The same file once a write made it is read.
    const made = await cli({ TOLLGATE_DATA_DIR: dataDir, DATABASE_URL: `sqlite:${file}` }, '--json', 'admin-keys', 'create', '--name', 'ops');
    expect(made.code, made.err).toBe(0);
    const read = await cli({ TOLLGATE_DATA_DIR: dataDir, DATABASE_URL: `sqlite:${file}` }, '--json', 'admin-keys', 'list');
    expect(read.code, read.err).toBe(0);
    expect(JSON.stringify(JSON.parse(read.out))).toContain('ops');
  });

  it('says nothing of a data dir it did not make', async () => {
    const dataDir = join(parent, 'never-made');
    const r = await cli(
      { TOLLGATE_DATA_DIR: dataDir, DATABASE_URL: 'sqlite::memory:', TOLLGATE_SECRET: 'a-server-secret-long-enough-for-tollgate-0123456789' },
      '--json',
      'admin-keys',
      'create',
      '--name',
      'ops',
    );
    expect(r.code, r.err).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
    expect(r.err).toBe('');
  });
});
