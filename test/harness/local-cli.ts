import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../../src/cli/main.js';
import { type Backend, databaseUrlFor, freshSchema } from './backends.js';

/** What one CLI run printed and its exit code; `json()` reads its output as JSON. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
  json(): ReturnType<typeof JSON.parse>;
}

/** The CLI run in-process on a data dir of its own (a temp dir, removed by `remove`), as `npx tollgate` runs locally. */
export interface LocalCli {
  dir: string;
  run(...args: string[]): Promise<CliRun>;
  remove(): void;
}

export function localCli(name: string): LocalCli {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-${name}-`));
  const env: Record<string, string | undefined> = { TOLLGATE_DATA_DIR: dir, LOG_LEVEL: 'silent' };
  return {
    dir,
    async run(...args: string[]): Promise<CliRun> {
      let out = '';
      let err = '';
      const code = await runCli(['node', 'tollgate', ...args], { env, out: (t) => (out += t), err: (t) => (err += t) });
      return { code, out, err, json: () => JSON.parse(out) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A local data dir for the CLI on one database backend: a temp dir, and on PostgreSQL a fresh schema (DATABASE_URL);
 * `cleanup` removes both.
 */
export async function localDatabaseEnv(backend: Backend): Promise<{ env: Record<string, string | undefined>; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  const schema = freshSchema();
  const onSchema = async (sql: string) => {
    if (!backend.url) return;
    const c = new pg.Client({ connectionString: backend.url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await onSchema(`CREATE SCHEMA "${schema}"`);
  const env = { TOLLGATE_DATA_DIR: dir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrlFor(backend, schema) };
  const cleanup = async () => {
    rmSync(dir, { recursive: true, force: true });
    await onSchema(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  };
  return { env, cleanup };
}
