import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/database.js';
import { startTestServer } from './harness/server.js';

// Found by review: the SQLite database (argon2 password hashes, the audit log, emails) and its -wal and -shm files were
// 0644 in a 0755 data dir, readable by any local user, while `secret`, `setup-token` and `server.pid` were 0600. A data
// dir Tollgate makes is now 0700 (its `wal/` too) and the database files 0600, whatever the umask; an existing data
// dir keeps its own mode, but its database files are made 0600.

const parents: string[] = [];
afterAll(() => {
  for (const d of parents) rmSync(d, { recursive: true, force: true });
});
const mode = (path: string) => statSync(path).mode & 0o777;

it('a data dir the server makes is 0700, its wal/ 0700, and the database files 0600, even under umask 0', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tollgate-modes-'));
  parents.push(parent);
  const dataDir = join(parent, 'data');
  // The most permissive umask: what is private then is private under any. Restored below, before anything else runs.
  const umask = process.umask(0);
  let t: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    t = await startTestServer({ name: 'sqlite' }, { dataDir });
    // A key made and used, so the database has written through its WAL.
    const key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'm' } })).body;
    expect(key.value).toBeTruthy();
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'wal'))).toBe(0o700);
    for (const f of ['tollgate.db', 'tollgate.db-wal', 'tollgate.db-shm', 'secret']) {
      expect(existsSync(join(dataDir, f)), f).toBe(true);
      expect(mode(join(dataDir, f)), f).toBe(0o600);
    }
  } finally {
    process.umask(umask);
    await t?.close();
  }
}, 60_000);

it('an existing data dir keeps its mode, and its database files, made 0644 before, are made 0600', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-modes-'));
  parents.push(dataDir);
  chmodSync(dataDir, 0o755);
  const file = join(dataDir, 'tollgate.db');
  // An earlier version's database, still open elsewhere (so its -wal and -shm exist), every file 0644.
  const earlier = new SQLite(file);
  earlier.pragma('journal_mode = WAL');
  earlier.exec('create table t (x integer)');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
  try {
    const database = await openDatabase({ dataDir });
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe(0o600);
      expect(mode(dataDir)).toBe(0o755);
    } finally {
      await database.close();
    }
  } finally {
    earlier.close();
  }
});

it('a database file named by DATABASE_URL=sqlite:PATH is made 0600 too', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tollgate-modes-'));
  parents.push(parent);
  const file = join(parent, 'custom.db');
  const database = await openDatabase({ url: `sqlite:${file}`, dataDir: join(parent, 'data') });
  try {
    expect(mode(file)).toBe(0o600);
  } finally {
    await database.close();
  }
});
