// Which failures of a write are the data's fault. A usage batch that fails for one of these fails again however often
// it is retried (issue 16 §2b: one event with U+0000 in its model held back every later event, forever, on
// PostgreSQL), so the recorder splits it to find the events at fault; any other failure (a lost connection, a
// lock, a full disk, a deadlock) is retried as it is.

import { BAD_USAGE_LINE } from '../core/usage-line.js';

/** PostgreSQL SQLSTATE classes and codes of data errors: 22 data exception, 23 integrity violation, P0001 raised. */
const PG_DATA = /^(22|23)[0-9A-Z]{3}$|^P0001$/;
/** SQLite result codes of data errors: constraints (NOT NULL, CHECK, a trigger's RAISE), type mismatch, too big. */
const SQLITE_DATA = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)(_|$)/;

/** Whether `err` says the data written was at fault (so writing it again would fail again), not the database. */
export function isDataError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') return code === BAD_USAGE_LINE || PG_DATA.test(code) || SQLITE_DATA.test(code);
  // better-sqlite3 refuses to bind a value of another type (an object, a boolean) with a TypeError; a line that is
  // not JSON is a SyntaxError.
  if (name === 'TypeError' && typeof message === 'string') return message.includes('can only bind');
  return name === 'SyntaxError';
}
