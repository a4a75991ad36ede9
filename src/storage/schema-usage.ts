import type { UsageRow } from '../core/usage-line.js';

/**
 * One metered request (core/usage-event.ts describes each field); `id` makes writes idempotent. The columns are
 * core/usage-line.ts's USAGE_COLUMNS, in the line's order: `outcome` is its text, `billable`, `streamed` and `unpriced`
 * are 1 or 0.
 */
export type UsageEventsTable = UsageRow;

/** Tables of usage, limits and budgets (see migrations-usage.ts). */
export interface UsageTables {
  usage_events: UsageEventsTable;
}
