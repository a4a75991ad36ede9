import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.js';
import type { UsageEvent } from './usage-recorder.js';

/** Folds newly inserted usage events into the rollup tables, in the inserting transaction. */
export async function rollUpUsage(_trx: Kysely<DB>, _events: UsageEvent[]): Promise<void> {}
