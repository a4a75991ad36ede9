// Which server a command talks to, from --server/--admin-key or TOLLGATE_URL/TOLLGATE_ADMIN_KEY, checked before
// anything is sent or opened. Found by review: a URL with a user and password was echoed whole in fetch's refusal
// (password included), and --admin-key without a server was ignored, the command acting on the local data dir.

import { MAX_TIMER_MS } from '../core/timers.js';

/** The server a command talks to: its base URL (no trailing slash, no user or password) and the admin key. */
export interface RemoteServer {
  base: string;
  adminKey: string;
  /** How long one call may take, answer read whole (cliTimeoutMs). */
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * How long one call to the server may take: TOLLGATE_CLI_TIMEOUT_MS, else 30 s (as scan's look-up always had). Found
 * by review: the admin calls had none of their own, and a server that never answered held a command for undici's 300 s.
 */
export function cliTimeoutMs(env: Record<string, string | undefined>): number {
  const raw = env.TOLLGATE_CLI_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_TIMER_MS) {
    throw new Error(`TOLLGATE_CLI_TIMEOUT_MS expects a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, got '${raw}'`);
  }
  return n;
}

/** Whether a fetch failed because its AbortSignal.timeout ran out. */
export function isTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** A call the server did not answer in time, naming the setting that bounds it. */
export function serverTimedOut(base: string, timeoutMs: number): string {
  return `the server at ${base} did not answer in ${timeoutMs / 1000} s (TOLLGATE_CLI_TIMEOUT_MS)`;
}

/**
 * The server named by the options or the environment, or null for the local data dir. Refused: a key without a
 * server (it would be ignored), a server without a key, a URL that is not http(s) or holds a user name or password.
 */
export function remoteServer(opts: { server?: string; adminKey?: string }, env: Record<string, string | undefined>): RemoteServer | null {
  const server = opts.server ?? env.TOLLGATE_URL;
  if (!server) {
    // Only the flag: TOLLGATE_ADMIN_KEY may stay exported in a shell that also works on a local data dir.
    if (opts.adminKey !== undefined) {
      throw new Error('--admin-key is for a server: give --server <url> (or TOLLGATE_URL), or leave --admin-key out to act on the local data dir');
    }
    return null;
  }
  const source = opts.server !== undefined ? '--server' : 'TOLLGATE_URL';
  // Nothing of the value is quoted that may be a password: a password with '#', '/' or '?' (not percent-encoded, as
  // generated ones often are) leaves the URL unparseable, or parsed with the password in its port or path (found by
  // a review: the whole value was printed then). A base URL has no '@'; one with it is taken to hold a user or password.
  const refusedCredentials = new Error(`${source} must not hold a user name or password (the value is not shown): the admin key goes in --admin-key`);
  if (server.includes('@')) throw refusedCredentials;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`${source} expects an http:// or https:// URL, got something that is not a URL (the value is not shown)`);
  }
  if (url.username || url.password) throw refusedCredentials;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${source} expects an http:// or https:// URL, got a URL with scheme ${url.protocol}`);
  const adminKey = opts.adminKey ?? env.TOLLGATE_ADMIN_KEY;
  if (!adminKey) throw new Error('--server needs --admin-key (or TOLLGATE_ADMIN_KEY)');
  return { base: server.replace(/\/+$/, ''), adminKey, timeoutMs: cliTimeoutMs(env) };
}

/** What a network error says, by its code: fetch() hides the reason (a refused connection, a DNS failure) in `cause`. */
function failureReason(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err;
  const c = cause as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } | null;
  // Node tries every address of a name in turn (autoSelectFamily): the refusals come as an AggregateError.
  const code = typeof c?.code === 'string' ? c.code : typeof c?.errors?.[0]?.code === 'string' ? c.errors[0].code : '';
  const raw = typeof c?.message === 'string' ? c.message : String(cause);
  // OpenSSL's messages are `…:SSL routines:<function>:<reason>:<file>:<line>:`; the reason is the readable part.
  const message = /SSL routines:[^:]*:([^:]+)/.exec(raw)?.[1] ?? raw.split('\n')[0];
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED): is the server running, and on that port?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host not found (${code}): is the host name right?`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `timed out connecting (${code})`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timed out waiting for the answer (${code})`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the connection was closed before an answer (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to the host (${code})`;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `TLS failed (${code}): the server does not speak TLS on that port (http://, not https://?)`;
  }
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|EPROTO$)/.test(code)) return `TLS failed (${code}): ${message}`;
  return code ? `${message} (${code})` : message;
}

/**
 * Why a request to the server failed to get an answer, naming the server (its base URL, which holds no credentials:
 * remoteServer refuses a user or password) and the cause; never the admin key. Found by a walkthrough: an unreachable
 * --server printed only `error: fetch failed`.
 */
export function serverUnreachable(base: string, err: unknown): string {
  return `could not reach the server at ${base}: ${failureReason(err)}`;
}
