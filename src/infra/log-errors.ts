import { type Logger, pino } from 'pino';

// Errors as they are logged. pino's own serializer writes every property of an error, and a client's errors carry what
// it was sending: ioredis adds `command: {name, args}` to an error reply, so a Redis refusing the password in REDIS_URL
// (WRONGPASS) had the password logged at every retry (`args: ['3', 'AUTH', user, password]`); Node's URL parser adds
// `input`, so a REDIS_URL that did not parse (a password with '#') was logged whole by the fatal start-up line. Both
// found by a review. Every logger Tollgate builds, or is handed, logs errors through `safeErr`.

/** Properties of an error (at any depth) that hold what a client sent or was configured with: never logged. */
const DROPPED = new Set(['command', 'args', 'input', 'options', 'config', 'connectionString', 'password', 'url']);

/**
 * A URL's user and password (`scheme://user:password@host`), however the password is spelt: up to the last '@' before
 * the host, so a password holding '@' (or '/', '#', '?') is masked whole (found by review: `p@ss@db` left `ss`
 * logged). Not a `file:` URL (a stack frame's path under `node_modules/@scope/…` holds an '@' and no credential); a
 * URL whose path holds an '@' is masked past its host, rather than a password risked.
 */
const URL_CREDENTIALS = /\b(?!file:)([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>]*@(?=[^\s@"'<>/]*(?:[/:?#\s"'<>]|$))/gi;

/** How deep an error's properties are cleared (causes of causes); below, they are left out. */
const MAX_DEPTH = 6;

function cleared(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.includes('@') ? value.replace(URL_CREDENTIALS, '$1***@') : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[omitted]';
  if (value instanceof Error) return cleared(pino.stdSerializers.err(value), depth + 1);
  if (Array.isArray(value)) return value.map((v) => cleared(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!DROPPED.has(k)) out[k] = cleared(v, depth + 1);
  }
  return out;
}

/**
 * An error as logged: pino's serialization (type, message, stack, cause, own properties) without the properties that
 * may hold a connection's credentials, and with any URL's user and password masked in what is left.
 */
export function safeErr(err: unknown): unknown {
  if (!(err instanceof Error)) return cleared(err, 0);
  return cleared(pino.stdSerializers.err(err), 0);
}

const SERIALIZERS = { err: safeErr };

/** A logger of `level` whose errors are logged by safeErr. */
export function createLogger(level: string): Logger {
  return pino({ level, serializers: SERIALIZERS });
}

/** A logger handed in (tests, embedders), made to log errors by safeErr as the ones Tollgate builds do. */
export function withSafeErrors(logger: Logger): Logger {
  return logger.child({}, { serializers: SERIALIZERS });
}
