import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';

/** A database the suites run against: SQLite always; PostgreSQL when TEST_DATABASE_URL is set. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  url?: string;
}

const isCI = process.env.CI === 'true';

/** The backends to run; under CI=true a missing TEST_DATABASE_URL is a failure, not a skip. */
export function databaseBackends(): Backend[] {
  const out: Backend[] = [{ name: 'sqlite' }];
  if (process.env.TEST_DATABASE_URL) out.push({ name: 'postgres', url: process.env.TEST_DATABASE_URL });
  return out;
}

/** Runs a suite once per database backend. */
export function describeEachDatabase(title: string, fn: (backend: Backend) => void): void {
  for (const backend of databaseBackends()) describe(`${title} [${backend.name}]`, () => fn(backend));
  if (!process.env.TEST_DATABASE_URL) {
    if (isCI) {
      describe(`${title} [postgres]`, () => {
        it('needs TEST_DATABASE_URL under CI=true', () => {
          throw new Error('TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI (see .ci/run)');
        });
      });
    } else {
      describe.skip(`${title} [postgres] (set TEST_DATABASE_URL to run)`, () => {
        it('skipped', () => {});
      });
    }
  }
}

/** A fresh PostgreSQL schema name, so suites never see each other's rows. */
export function freshSchema(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** DATABASE_URL for a backend and schema (the schema travels in the URL for child processes). */
export function databaseUrlFor(backend: Backend, schema: string): string | undefined {
  if (backend.name !== 'postgres' || !backend.url) return undefined;
  const u = new URL(backend.url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** Runs a suite against real Redis when TEST_REDIS_URL is set; under CI=true its absence fails. */
export function describeWithRedis(title: string, fn: (redisUrl: string) => void): void {
  const url = process.env.TEST_REDIS_URL;
  if (url) {
    describe(`${title} [redis]`, () => fn(url));
    return;
  }
  if (isCI) {
    describe(`${title} [redis]`, () => {
      it('needs TEST_REDIS_URL under CI=true', () => {
        throw new Error('TEST_REDIS_URL is not set: the Redis suite must run in CI (see .ci/run)');
      });
    });
  } else {
    describe.skip(`${title} [redis] (set TEST_REDIS_URL to run)`, () => {
      it('skipped', () => {});
    });
  }
}
