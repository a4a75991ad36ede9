import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by a new-user walkthrough: `audit --project <name>` printed `(none)` and exited 0 (only ids matched, though
// `--project` takes an id or a name everywhere else); `audit --type bogus.type` printed `(none)` too, a typo passing as
// "nothing happened"; and `audit --since 7d` was refused naming the API's `effective_at[gte]`, not the flag. Now the
// name is resolved as every command resolves it, an unknown type is refused naming --type, and --since takes what
// `usage --since` takes, its refusals naming the flag.

describe('CLI audit filters', () => {
  let local: LocalCli;
  let pid: string;
  beforeAll(async () => {
    local = localCli('cli-audit');
    pid = (await local.run('--json', 'projects', 'create', 'Audited')).json().id;
    expect((await local.run('keys', 'create', '--project', 'Audited', '--name', 'k')).code).toBe(0);
  });
  afterAll(() => local.remove());
  const cli = (...args: string[]) => local.run(...args);
  const entries = async (...args: string[]) => {
    const r = await cli('--json', 'audit', ...args);
    expect(r.code, r.err).toBe(0);
    return r.json().data as Array<{ type: string; project?: { id: string } }>;
  };

  it('takes --project by name, as by id', async () => {
    const byName = await entries('--project', 'Audited');
    expect(byName.map((e) => e.type).sort()).toEqual(['api_key.created', 'project.created']);
    expect(byName.every((e) => e.project?.id === pid)).toBe(true);
    expect(await entries('--project', pid)).toEqual(byName);
    const nowhere = await cli('audit', '--project', 'Nowhere');
    expect(nowhere.code).toBe(1);
    expect(nowhere.err).toMatch(/No project named 'Nowhere'/);
  });

  it('refuses an event type that is not one, naming --type', async () => {
    for (const types of [['bogus.type'], ['api_key.created,bogus.type'], ['api_key.created', '--type', 'api_keys.created']]) {
      const r = await cli('audit', '--type', ...types);
      expect(r.code, types.join(' ')).toBe(1);
      expect(r.err, types.join(' ')).toMatch(/--type: '(bogus\.type|api_keys\.created)' is not an audit event type/);
      expect(r.err).toContain('api_key.created');
      expect(r.out).toBe('');
    }
    expect((await entries('--type', 'api_key.created')).map((e) => e.type)).toEqual(['api_key.created']);
  });

  it('takes --since as usage does (7d, an ISO date, unix seconds), refusing in the flag\'s words', async () => {
    const all = await entries();
    expect(all.length).toBeGreaterThan(0);
    expect(await entries('--since', '7d')).toEqual(all);
    expect(await entries('--since', '2000-01-01')).toEqual(all);
    expect(await entries('--since', '946684800')).toEqual(all);
    expect(await entries('--since', '2999-01-01T00:00:00Z')).toEqual([]);
    const bad = await cli('audit', '--since', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--since expects unix seconds, an ISO 8601 date or time .* or 7d\/12h\/30m ago, got 'yesterday'/);
    expect(bad.err).not.toContain('effective_at');
  });

  it('refuses a --limit out of range in the flag\'s words', async () => {
    for (const limit of ['0', '101', 'abc']) {
      const r = await cli('audit', '--limit', limit);
      expect(r.code, limit).toBe(1);
      expect(r.err, limit).toMatch(/--limit/);
      expect(r.err, limit).toMatch(/1 to 100/);
    }
    expect((await entries('--limit', '1')).length).toBe(1);
  });
});
