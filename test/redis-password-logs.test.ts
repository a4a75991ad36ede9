import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryArgs } from './harness/entry.js';
import { type PrivateRedis, startPrivateRedis } from './harness/private-servers.js';
import { startTestServer, type TestServer } from './harness/server.js';

// Found by review: the password in REDIS_URL reached the logs whole. (1) A Redis refusing it (WRONGPASS: a rotated
// password, a misspelt ACL user) gave an error reply to which ioredis adds `command: {name: 'hello', args: ['3',
// 'AUTH', user, password]}`, and pino logged every property of it, at every retry. (2) A REDIS_URL that does not parse
// (a generated password with '#', '/' or '?' not percent-encoded) failed the start with a TypeError whose `input` is
// the whole URL, logged by the fatal start-up line. Now errors are logged without what may hold a connection's
// credentials, and REDIS_URL is checked with the rest of the configuration, its value never shown.
const enabled = !!process.env.TEST_REDIS_URL || process.env.CI === 'true';
const suite = enabled ? describe : describe.skip;

const PASSWORD = 'Redis-pw-Zq9Xw8Vt7Rs6Qp5';

suite('the Redis password in the logs', () => {
  let redis: PrivateRedis;
  const dirs: string[] = [];
  beforeAll(async () => {
    redis = await startPrivateRedis();
    // A Redis that wants a password other than the one the URL holds.
    execFileSync('redis-cli', ['-p', String(redis.port), 'config', 'set', 'requirepass', 'the-right-one-123'], { stdio: 'pipe', timeout: 5_000 });
  });
  afterAll(async () => {
    await redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a Redis refusing the password: the retries are logged, the password is not', async () => {
    const logs: string[] = [];
    let t: TestServer | undefined;
    try {
      t = await startTestServer(
        { name: 'sqlite' },
        { env: { REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${redis.port}` }, logger: pino({ level: 'info' }, { write: (l: string) => logs.push(l) }) },
      );
      // The change bus's refusals are logged as they come (its connections retry).
      for (let i = 0; i < 100 && !logs.some((l) => l.includes('WRONGPASS')); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await t?.close();
    }
    expect(logs.some((l) => l.includes('WRONGPASS'))).toBe(true);
    expect(logs.filter((l) => l.includes(PASSWORD))).toEqual([]);
  }, 60_000);

  it('a REDIS_URL that does not parse (a password with #, / or ?) is refused at start without its value', () => {
    for (const url of [
      `redis://default:${PASSWORD}#x@127.0.0.1:${redis.port}`,
      `redis://default:${PASSWORD}/x@127.0.0.1:${redis.port}`,
      `redis://default:${PASSWORD}?x@127.0.0.1:${redis.port}`,
      `redis://default:${PASSWORD}@127.0.0.1:99999`,
    ]) {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-url-'));
      dirs.push(dir);
      const r = spawnSync(process.execPath, entryArgs('src/main.ts'), {
        env: { PATH: process.env.PATH, TOLLGATE_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info', REDIS_URL: url },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const out = r.stdout + r.stderr;
      expect(r.status).toBe(1);
      expect(out).toContain('REDIS_URL');
      expect(out).not.toContain(PASSWORD);
    }
  }, 120_000);
});

it('a DATABASE_URL that does not parse stops the start without its password shown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-db-url-'));
  try {
    const r = spawnSync(process.execPath, entryArgs('src/main.ts'), {
      env: { PATH: process.env.PATH, TOLLGATE_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: `postgres://app:${PASSWORD}#x@127.0.0.1:5432/app` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    // Refused by the configuration's check, naming the variable (it used to fail inside the start, logged).
    expect(r.stdout + r.stderr).toMatch(/DATABASE_URL: not a URL that can be read/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
