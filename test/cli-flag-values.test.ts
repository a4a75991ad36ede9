import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by review: a flag's value read as "not given" or half-read passed silently as something else. `--restricted ''`
// and `--permissions ''` made an all-permissions key, `--restricted models=read=write` became {models: "read"},
// `--expires ''` a key that never expires, `--grace ''` no grace at all (Number('') is 0), and a repeated flag kept its
// last value. Each is now refused with the flag named, and nothing is created.

describe('CLI option values (local data dir)', () => {
  let local: LocalCli;
  beforeAll(() => {
    local = localCli('cli-values');
  });
  afterAll(() => local.remove());
  const cli = (...args: string[]) => local.run(...args);
  const keyNames = async () => (await cli('--json', 'keys', 'list')).json().data.map((k: { name: string }) => k.name);
  const adminKeyNames = async () => (await cli('--json', 'admin-keys', 'list')).json().data.map((k: { name: string }) => k.name);

  it('refuses an empty or malformed scope, creating no key', async () => {
    const refusals: Array<[string[], RegExp]> = [
      [['--restricted', ''], /--restricted .*empty/],
      [['--restricted', ' '], /--restricted .*empty/],
      [['--permissions', ''], /--permissions .*empty/],
      [['--restricted', 'models=read=write'], /--restricted expects resource=level pairs.*'models=read=write'/],
      [['--restricted', 'models=read,,files=write'], /--restricted expects resource=level pairs/],
      [['--restricted', 'models=read,models=write'], /--restricted names 'models' twice/],
      [['--permissions', '{"restricted":'], /--permissions expects all, read_only or a JSON object/],
      [['--permissions', 'all', '--restricted', 'models=read'], /--permissions or --restricted, not both/],
    ];
    for (const [flags, message] of refusals) {
      const r = await cli('keys', 'create', '--name', 'scoped', ...flags);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
    expect(await keyNames()).not.toContain('scoped');
    const ok = await cli('--json', 'keys', 'create', '--name', 'scoped', '--restricted', 'models=read, chat.completions=write');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.json().permissions).toEqual({ restricted: { models: 'read', 'chat.completions': 'write' } });
  });

  it('refuses an empty --expires, for project keys and admin keys', async () => {
    const key = await cli('keys', 'create', '--name', 'forever', '--expires', '');
    expect(key.code).toBe(1);
    expect(key.err).toMatch(/--expires .*empty/);
    const admin = await cli('admin-keys', 'create', '--name', 'forever', '--expires', '');
    expect(admin.code).toBe(1);
    expect(admin.err).toMatch(/--expires .*empty/);
    expect(await keyNames()).not.toContain('forever');
    expect(await adminKeyNames()).not.toContain('forever');
  });

  it('refuses an empty or non-numeric --grace in words, and rotates nothing', async () => {
    const key = (await cli('--json', 'keys', 'create', '--name', 'rotated')).json();
    for (const [grace, message] of [
      ['', /--grace .*empty/],
      ['abc', /--grace.*'abc'.*whole number of seconds/],
      ['1.5', /--grace.*'1\.5'.*whole number of seconds/],
      ['-1', /--grace.*'-1'.*whole number of seconds/],
    ] as const) {
      const r = await cli('keys', 'rotate', key.id, '--grace', grace);
      expect(r.code, grace).toBe(1);
      expect(r.err, grace).toMatch(message);
      expect(r.err).not.toContain('received null');
    }
    expect((await cli('--json', 'keys', 'show', key.id)).json().redacted_value).toBe(key.redacted_value);
    const rotated = await cli('--json', 'keys', 'rotate', key.id, '--grace', '0');
    expect(rotated.code, rotated.err).toBe(0);
  });

  // Found by a walkthrough: `keys rotate --grace 0` printed "The old secret works until <now>", as though it still did.
  it('says the old secret stopped working when --grace is 0, and until when it works otherwise', async () => {
    const key = (await cli('--json', 'keys', 'create', '--name', 'rotated-now')).json();
    for (let i = 0; i < 2; i++) {
      const r = await cli('keys', 'rotate', key.id, '--grace', '0');
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('The old secret stopped working now.');
      expect(r.out).not.toContain('works until');
    }
    const graced = await cli('keys', 'rotate', key.id, '--grace', '60');
    expect(graced.out).toMatch(/The old secret works until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\./);
  });

  it('refuses a number that is not one, naming the flag (Number() made NaN of it, sent as null)', async () => {
    for (const args of [
      ['providers', 'credentials', 'add', 'prov_x', '--value', 'sk-x', '--weight', 'abc'],
      ['providers', 'credentials', 'add', 'prov_x', '--value', 'sk-x', '--weight', '0'],
      ['budget', 'set', '--key', 'key_x', '--requests', '1e3'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/option '--(weight|requests) <n>' argument '.*' is invalid/);
    }
  });

  it('adds up a repeated list option, and refuses any other option given twice', async () => {
    const listed = await cli('--json', 'keys', 'create', '--name', 'ips', '--allowed-ips', '10.0.0.0/8', '--allowed-ips', '192.0.2.1,192.0.2.2');
    expect(listed.code, listed.err).toBe(0);
    expect(listed.json().allowed_ips).toEqual(['10.0.0.0/8', '192.0.2.1', '192.0.2.2']);
    const project = await cli('--json', 'projects', 'create', 'Listed', '--allowed-ips', '10.0.0.0/8', '--allowed-ips', '192.0.2.1');
    expect(project.json().allowed_ips).toEqual(['10.0.0.0/8', '192.0.2.1']);
    const refusals: string[][] = [
      ['keys', 'create', '--name', 'f1', '--name', 'f2'],
      ['keys', 'create', '--name', 'f1', '--expires', '1d', '--expires', '2d'],
      ['admin-keys', 'create', '--name', 'f1', '--name', 'f2'],
      ['limits', 'set', '--rpm', '5', '--rpm', '6'],
      ['keys', 'list', '--project', 'Default project', '--project', 'Listed'],
      ['--server', 'http://127.0.0.1:1', '--server', 'http://127.0.0.1:2', 'projects', 'list'],
    ];
    for (const args of refusals) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/--(name|expires|rpm|project|server) was given more than once/);
    }
    expect(await keyNames()).not.toContain('f2');
    expect(await adminKeyNames()).not.toContain('f2');
  });
});
