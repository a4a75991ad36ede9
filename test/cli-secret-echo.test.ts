import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { generateSecret } from '../src/core/key-format.js';
import { entryArgs } from './harness/entry.js';

// Found by review: a secret given in the wrong argument was echoed whole in the CLI's error: `--admin-kye=sk-tg-admin-…`
// as "unknown option '--admin-kye=sk-tg-admin-…'", `--server "$AK"` as "expects an http:// URL, got 'sk-tg-admin-…'",
// `--vlue=sk-…` likewise; terminals are recorded, shared and pasted into issues. Now everything the CLI writes to
// standard error has its secrets redacted (their format's prefix and last four characters), whoever wrote it.

describe('secrets in the CLI\'s errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-secret-echo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const admin = generateSecret('admin', randomBytes);
  const project = generateSecret('project', randomBytes);
  const openai = `sk-proj-${'Ab3_'.repeat(12)}`;
  // A key mistyped (its checksum fails): no scanner would call it a key, but it is most of one.
  const mistyped = `${admin.slice(0, -1)}${admin.endsWith('x') ? 'y' : 'x'}`;

  async function cli(...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', ...args], { env: { LOG_LEVEL: 'silent', TOLLGATE_DATA_DIR: dir }, out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  it('redacts a secret in whatever error names it', async () => {
    const cases: Array<[string, string[]]> = [
      [admin, [`--admin-kye=${admin}`, 'projects', 'list']],
      [admin, ['--server', admin, '--admin-key', 'x', 'projects', 'list']],
      [admin, ['projects', 'list', admin]],
      [admin, ['--admin-key', admin, 'projects', 'list']],
      [project, ['keys', 'show', '--project', project]],
      [openai, ['providers', 'credentials', 'add', 'prov_x', `--vlue=${openai}`]],
      [openai, ['providers', 'credentials', 'add', 'prov_x', '--value', openai, '--value-stdin']],
      [mistyped, [`--admin-kye=${mistyped}`, 'projects', 'list']],
      [mistyped, ['--server', mistyped, '--admin-key', 'x', 'projects', 'list']],
    ];
    for (const [secret, args] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err.length, args.join(' ')).toBeGreaterThan(0);
      expect(r.err, args.join(' ')).not.toContain(secret.slice(12, 40));
    }
    // Redacted as the scanner shows a key: its prefix and last four characters.
    expect((await cli(`--admin-kye=${admin}`, 'projects', 'list')).err).toContain(`unknown option '--admin-kye=sk-tg-admin-…${admin.slice(-4)}'`);
    // A --server that is no URL is not quoted at all (it may be a password: cli-server-url-password.test.ts).
    expect((await cli('--server', mistyped, '--admin-key', 'x', 'projects', 'list')).err).toContain('got something that is not a URL (the value is not shown)');
  });

  it('redacts them in the scan-only entry (the pre-commit hook\'s) too', () => {
    const r = spawnSync(process.execPath, [...entryArgs('src/cli/scan-entry.ts'), `--admin-kye=${admin}`, 'scan', dir], { encoding: 'utf8', timeout: 90_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown option');
    expect(r.stderr).not.toContain(admin.slice(12, 40));
  }, 120_000);
});
