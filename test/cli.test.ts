import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { type Backend, databaseUrlFor, describeEachDatabase, freshSchema } from './harness/backends.js';
import { startTestServer } from './harness/server.js';
import { entryArgs } from './harness/entry.js';

const run = promisify(execFile);

async function cli(env: Record<string, string | undefined>, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'tollgate', ...args], { env, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err, json: () => JSON.parse(out) };
}

async function localEnv(backend: Backend) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  const schema = freshSchema();
  if (backend.url) {
    const c = new pg.Client({ connectionString: backend.url });
    await c.connect();
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.end();
  }
  const env = { TOLLGATE_DATA_DIR: dir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrlFor(backend, schema) };
  const cleanup = async () => {
    rmSync(dir, { recursive: true, force: true });
    if (backend.url) {
      const c = new pg.Client({ connectionString: backend.url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  };
  return { env, cleanup };
}

describeEachDatabase('CLI (local data dir)', (backend) => {
  let env: Record<string, string | undefined>;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ env, cleanup } = await localEnv(backend));
  });
  afterAll(async () => cleanup?.());

  it('admin-keys create initialises a fresh database and prints the key once', async () => {
    const r = await cli(env, 'admin-keys', 'create', '--name', 'ops', '--json');
    expect(r.code).toBe(0);
    const key = r.json();
    expect(key.id).toMatch(/^key_/);
    expect(key.value).toMatch(/^sk-tg-admin-[0-9A-Za-z]{46}$/);
    const projects = await cli(env, 'projects', 'list', '--json');
    expect(projects.json().data.map((p: { name: string }) => p.name)).toEqual(['Default project']);
    const list = await cli(env, 'admin-keys', 'list');
    expect(list.out).toContain('ops');
    expect(list.out).toContain(key.redacted_value);
    expect(list.out).not.toContain(key.value);
    const human = await cli(env, 'admin-keys', 'create', '--name', 'ops2');
    expect(human.out).toMatch(/sk-tg-admin-[0-9A-Za-z]{46}/);
    expect(human.out).toContain('shown only now');
    // A revoked admin key leaves the list; --all shows it with its status.
    expect((await cli(env, 'admin-keys', 'revoke', key.id, '--json')).code).toBe(0);
    expect((await cli(env, 'admin-keys', 'list')).out).not.toContain(key.redacted_value);
    const all = (await cli(env, 'admin-keys', 'list', '--all', '--json')).json().data;
    expect(all.find((k: { id: string }) => k.id === key.id)?.status).toBe('revoked');
  });

  it('manages projects and keys, never showing a secret twice', async () => {
    const p = (await cli(env, 'projects', 'create', 'Mobile', '--json')).json();
    expect(p.id).toMatch(/^proj_/);
    const created = await cli(env, 'keys', 'create', '--project', 'Mobile', '--name', 'ios', '--restricted', 'models=read,chat.completions=write', '--json');
    expect(created.code).toBe(0);
    const key = created.json();
    expect(key.permissions).toEqual({ restricted: { models: 'read', 'chat.completions': 'write' } });
    const table = await cli(env, 'keys', 'list', '--project', p.id);
    expect(table.out).toMatch(/ID\s+NAME\s+REDACTED_VALUE\s+STATUS/);
    expect(table.out).toContain('ios');
    expect(table.out).not.toContain(key.value);
    const show = await cli(env, 'keys', 'show', key.id, '--project', 'Mobile', '--json');
    expect(show.json().name).toBe('ios');
    expect(show.out).not.toContain(key.value);
    expect((await cli(env, 'keys', 'rename', key.id, 'iphone', '--project', 'Mobile', '--json')).json().name).toBe('iphone');
    const rotated = (await cli(env, 'keys', 'rotate', key.id, '--project', 'Mobile', '--grace', '60', '--json')).json();
    expect(rotated.value).not.toBe(key.value);
    const revoked = await cli(env, 'keys', 'revoke', key.id, '--project', 'Mobile', '--json');
    expect(revoked.json()).toMatchObject({ deleted: true, id: key.id });
    // Revoked keys are left out of the list unless --all asks; show still finds one by id.
    expect((await cli(env, 'keys', 'list', '--project', 'Mobile', '--json')).json().data).toEqual([]);
    const withRevoked = (await cli(env, 'keys', 'list', '--project', 'Mobile', '--all', '--json')).json().data;
    expect(withRevoked.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([[key.id, 'revoked']]);
    expect((await cli(env, 'keys', 'show', key.id, '--project', 'Mobile', '--json')).json().status).toBe('revoked');
    const audit = await cli(env, 'audit', '--limit', '100', '--json');
    const types = audit.json().data.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['api_key.created', 'api_key.updated', 'api_key.rotated', 'api_key.deleted', 'project.created']));
    expect(audit.out).not.toContain(key.value);
    expect(audit.out).not.toContain(rotated.value);
    const humanAudit = await cli(env, 'audit', '--type', 'api_key.rotated');
    expect(humanAudit.out).toMatch(/api_key\.rotated\s+cli:/);
    const archived = await cli(env, 'projects', 'archive', 'Mobile', '--json');
    expect(archived.json().status).toBe('archived');
  });

  it('reports errors on stderr with a non-zero exit code', async () => {
    const r = await cli(env, 'keys', 'show', 'key_nope', '--project', 'Default project');
    expect(r.code).toBe(1);
    expect(r.err).toContain('not_found');
    const bad = await cli(env, 'keys', 'create', '--name', 'x'.repeat(300));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('invalid_value');
    // An empty list is said in the CLI's words, naming the option (the API's own refusal says to send null).
    for (const option of ['--allowed-ips', '--allowed-models']) {
      const empty = await cli(env, 'keys', 'create', '--name', 'empty', option, ',');
      expect(empty.code, option).toBe(1);
      expect(empty.err).toContain(`option '${option} <list>' argument ',' is invalid`);
      expect(empty.err).toContain('leave the option out');
    }
  });
});

describeEachDatabase('CLI (remote --server)', (backend) => {
  it('drives a running server through the admin API', async () => {
    const t = await startTestServer(backend);
    try {
      const env = { LOG_LEVEL: 'silent' };
      const created = await cli(env, '--server', t.url, '--admin-key', t.adminKey, 'keys', 'create', '--name', 'remote', '--json');
      expect(created.code).toBe(0);
      const key = created.json();
      expect(key.created_by).toEqual({ type: 'admin_api_key', id: t.adminKeyId });
      const listed = await cli({ ...env, TOLLGATE_URL: t.url, TOLLGATE_ADMIN_KEY: t.adminKey }, 'keys', 'list', '--json');
      expect(listed.json().data.map((k: { id: string }) => k.id)).toContain(key.id);
      const denied = await cli(env, '--server', t.url, '--admin-key', 'sk-tg-admin-wrong', 'projects', 'list');
      expect(denied.code).toBe(1);
      expect(denied.err).toContain('invalid_api_key');
    } finally {
      await t.close();
    }
  });
});

describe('CLI entry point', () => {
  // One process (the entry point and its exit are what is under test); the rest of this file runs the CLI in-process.
  it('runs as a process on a fresh data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bin-'));
    try {
      const { stdout } = await run(process.execPath, [...entryArgs('src/cli/run.ts'), 'admin-keys', 'create', '--name', 'ops', '--json'], {
        env: { ...process.env, TOLLGATE_DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'silent' },
      });
      const key = JSON.parse(stdout);
      expect(key.value).toMatch(/^sk-tg-admin-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints its help with exit code 0', async () => {
    const help = await cli({}, '--help');
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('admin-keys');
  });

  it("returns a subcommand's usage error and help through its own output, escaped, never exiting the process", async () => {
    const exits: unknown[] = [];
    const leaked: string[] = [];
    const real = { exit: process.exit, out: process.stdout.write, err: process.stderr.write };
    process.exit = ((code?: number) => {
      exits.push(code);
      throw new Error(`process.exit(${code})`);
    }) as typeof process.exit;
    process.stdout.write = ((chunk: string) => leaked.push(chunk) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => leaked.push(chunk) > 0) as typeof process.stderr.write;
    let unknown: Awaited<ReturnType<typeof cli>>;
    let missing: Awaited<ReturnType<typeof cli>>;
    let help: Awaited<ReturnType<typeof cli>>;
    try {
      unknown = await cli({}, 'users', 'create-owner', '--email', 'a@example.com', '--password\x1b]0;owned\x07', 'x');
      missing = await cli({}, 'keys', 'rename', 'key_1');
      help = await cli({}, 'keys', 'create', '--help');
    } finally {
      Object.assign(process, { exit: real.exit });
      process.stdout.write = real.out;
      process.stderr.write = real.err;
    }
    expect({ exits, leaked }).toEqual({ exits: [], leaked: [] });
    expect(unknown).toMatchObject({ code: 1, out: '' });
    expect(unknown.err).toMatch(/^error: unknown option '--password\\033\]0;owned\\007'\n/);
    expect(unknown.err).toContain('Usage: tollgate users create-owner');
    expect(missing).toMatchObject({ code: 1, out: '' });
    expect(missing.err).toMatch(/^error: missing required argument 'name'/);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('Usage: tollgate keys create [options]');
  });
});

describe('usage CLI through runCli', () => {
  it('prints the usage table of real gateway calls', async () => {
    const t = await startTestServer({ name: 'sqlite' });
    try {
      const k = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'u' } })).body;
      for (let i = 0; i < 3; i++) {
        await fetch(`${t.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hello' }] }),
        });
      }
      await t.server.gateway.usage.flush();
      const r = await cli({ LOG_LEVEL: 'silent' }, '--server', t.url, '--admin-key', t.adminKey, 'usage', '--by', 'model', '--json');
      expect(r.code).toBe(0);
      expect(r.out).toContain('tollgate-echo');
      const rows = JSON.parse(r.out).data as Array<{ model: string; requests: number }>;
      expect(rows.find((x) => x.model === 'tollgate-echo')?.requests).toBe(3);
    } finally {
      await t.close();
    }
  });
});
