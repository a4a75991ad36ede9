import { sql } from 'kysely';
import type { LimitStore } from './core/limit-store.js';
import type { Runtime } from './runtime.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** Database and (when configured) Redis reachable within a second each. */
export async function readiness(runtime: Runtime, store: LimitStore): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try {
    await withTimeout(sql`select 1`.execute(runtime.database.db), 1000);
    checks.database = 'ok';
  } catch (err) {
    checks.database = `unavailable: ${(err as Error).message}`;
  }
  if (store.health) {
    try {
      await withTimeout(store.health.ping(), 1000);
      checks[store.health.name] = 'ok';
    } catch (err) {
      checks[store.health.name] = `unavailable: ${(err as Error).message}`;
    }
  }
  return checks;
}
