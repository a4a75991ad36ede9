import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './migrations.js';

// Frozen history: nothing here is imported from runtime code, and nothing it uses may change.

/** The advisory lock (one-key space) an audited transaction takes last, as it commits (748_401–748_403 are services'). */
const AUDIT_COMMIT_LOCK_108 = 748_404;

/**
 * 108: on PostgreSQL an audit entry is numbered (`seq`, the order of the list and of its `after`/`before` cursors) as
 * its transaction commits, not as it is inserted. A number taken at insert is seen only at commit, so an entry whose
 * transaction stayed open committed below one a later transaction had committed meanwhile: a client that had read the
 * later one as the newest and asked for `before=` it never saw the other. A deferred constraint trigger runs at commit,
 * after everything the transaction did: it takes one advisory lock (released with the commit) and gives the entry the
 * next number. Entries are numbered in the order they commit, and whoever holds the lock waits for nothing (the lock is
 * the last one its transaction takes), so it cannot deadlock; only the ends of audited transactions are serialised.
 * The entry's time is likewise made no earlier than that of any entry of its organization committed before it, for a
 * client asking for `effective_at[gte]=` the newest time it has seen. SQLite runs one writer at a time: an entry is
 * numbered in commit order already. Existing rows keep their numbers.
 */
function commitOrder(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      // Names are taken from the trigger's table, so that the function serves the schema it was made in whatever the
      // connection's search_path.
      await sql
        .raw(`
create function audit_logs_commit_order() returns trigger language plpgsql as $fn$
begin
  perform pg_advisory_xact_lock(${AUDIT_COMMIT_LOCK_108});
  execute format(
    'update %1$I.%2$I set seq = nextval(%3$L::regclass),'
    ' effective_at = greatest(effective_at, coalesce((select max(a.effective_at) from %1$I.%2$I a where a.org_id = $2), 0))'
    ' where id = $1',
    tg_table_schema, tg_table_name, pg_get_serial_sequence(format('%I.%I', tg_table_schema, tg_table_name), 'seq'))
  using new.id, new.org_id;
  return null;
end
$fn$`)
        .execute(db);
      await sql
        .raw(`
create constraint trigger audit_logs_commit_order after insert on audit_logs
deferrable initially deferred for each row execute procedure audit_logs_commit_order()`)
        .execute(db);
    },
  };
}

/** The origin (scheme://host[:port]) of a URL; null when it does not parse or has none. */
function origin109(url: string): string | null {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/**
 * 109: `webhook.created` entries keep only the origin of the endpoint's URL. They held all of it, and a webhook URL is
 * often the credential that lets anyone post to it (a chat service's secret path, a `?token=`), kept in the log after
 * the endpoint was deleted.
 */
const webhookUrlOrigin: Migration = {
  async up(db: Kysely<unknown>) {
    const rows = await sql<{ id: string; details: string }>`select id, details from audit_logs where type = 'webhook.created'`.execute(db);
    for (const r of rows.rows) {
      const details = JSON.parse(r.details);
      const data = details?.data;
      if (!data || typeof data !== 'object' || typeof data.url !== 'string') continue;
      const scrubbed = origin109(data.url);
      if (scrubbed === data.url) continue;
      data.url = scrubbed;
      await sql`update audit_logs set details = ${JSON.stringify(details)} where id = ${r.id}`.execute(db);
    }
  },
};

export function auditMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '108_audit_commit_order': commitOrder(dialect),
    '109_audit_webhook_url_origin': webhookUrlOrigin,
  };
}
