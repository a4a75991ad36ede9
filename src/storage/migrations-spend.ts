import { randomBytes } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import { type Dialect, notNull, withSeq } from './migrations.js';

// Issue 17: OpenAI's project.rate_limit dimensions Tollgate did not store, and spend alerts as OpenAI's objects
// (an amount in cents of the month's spend, with a notification channel) instead of percentages kept on the spend limit.
// Frozen history: the values below are copied here, never imported.

/** Prefix of a spend alert's id (copied from core/ids.ts as it was when this migration was written). */
const ALERT_ID_PREFIX = 'alert_';

type Db = Kysely<Record<string, Record<string, unknown>>>;

/** Names 093_…. */
export function spendMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '093_spend_alerts_and_rate_limit_fields': {
      async up(untyped: Kysely<unknown>) {
        const db = untyped as unknown as Db;
        await db.schema.alterTable('rate_limits').addColumn('max_images_per_1_minute', 'bigint').execute();
        await db.schema.alterTable('rate_limits').addColumn('max_audio_megabytes_per_1_minute', 'bigint').execute();
        await db.schema.alterTable('rate_limits').addColumn('batch_1_day_max_input_tokens', 'bigint').execute();

        // project_id is the project's id, or the organization's for the organization's alerts (as spend_limits).
        await withSeq(db.schema.createTable('spend_alerts'), dialect)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('org_id', 'text', notNull)
          .addColumn('project_id', 'text', notNull)
          .addColumn('threshold_amount', 'bigint', notNull)
          .addColumn('currency', 'text', notNull)
          .addColumn('interval', 'text', notNull)
          .addColumn('channel_type', 'text', notNull)
          .addColumn('recipients', 'text', notNull)
          .addColumn('subject_prefix', 'text')
          .addColumn('created_at', 'bigint', notNull)
          .addColumn('updated_at', 'bigint', notNull)
          .execute();
        await db.schema.createIndex('spend_alerts_project').on('spend_alerts').columns(['project_id', 'seq']).execute();

        // Percent thresholds of a monthly limit become alerts of that share of it, with the same recipients. Those of
        // a limit on another interval cannot: an alert is of the month's spend (docs/admin-api.md says so).
        const orgs = new Set((await db.selectFrom('organizations').select('id').execute()).map((r) => String(r.id)));
        const projectOrg = new Map((await db.selectFrom('projects').select(['id', 'org_id']).execute()).map((r) => [String(r.id), String(r.org_id)]));
        const limits = await db.selectFrom('spend_limits').selectAll().execute();
        for (const row of limits) {
          const scope = String(row.project_id);
          const orgId = orgs.has(scope) ? scope : projectOrg.get(scope);
          const amount = row.threshold_amount === null ? null : Number(row.threshold_amount);
          if (!orgId || amount === null || row.interval !== 'month') continue;
          const percents = parseList(row.alert_thresholds).filter((p): p is number => typeof p === 'number' && p > 0);
          const recipients = parseList(row.alert_recipients).filter((r): r is string => typeof r === 'string');
          for (const percent of [...new Set(percents)].sort((a, b) => a - b)) {
            await db
              .insertInto('spend_alerts')
              .values({
                id: ALERT_ID_PREFIX + randomBytes(12).toString('hex'),
                org_id: orgId,
                project_id: scope,
                threshold_amount: Math.round((amount * percent) / 100),
                currency: 'USD',
                interval: 'month',
                channel_type: 'email',
                recipients: JSON.stringify(recipients),
                subject_prefix: null,
                created_at: Number(row.updated_at),
                updated_at: Number(row.updated_at),
              })
              .execute();
          }
        }
        // A row is a limit now: rows that held only alert settings go.
        await db.deleteFrom('spend_limits').where('threshold_amount', 'is', null).execute();
        await db.schema.alterTable('spend_limits').dropColumn('alert_thresholds').execute();
        await db.schema.alterTable('spend_limits').dropColumn('alert_recipients').execute();
      },
    },
  };
}

function parseList(text: unknown): unknown[] {
  try {
    const v = JSON.parse(String(text));
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
