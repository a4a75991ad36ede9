// Which server a command talks to, from --server/--admin-key or TOLLGATE_URL/TOLLGATE_ADMIN_KEY, checked before
// anything is sent or opened. Found by review: a URL with a user and password was echoed whole in fetch's refusal
// (password included), and --admin-key without a server was ignored, the command acting on the local data dir.

/** The server a command talks to: its base URL (no trailing slash, no user or password) and the admin key. */
export interface RemoteServer {
  base: string;
  adminKey: string;
}

/** The URL with whatever stands between `//` and `@` masked, for messages (it may be a password). */
function redacted(url: string): string {
  return url.replace(/\/\/[^/?#]*@/, '//***@');
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
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    if (/\/\/[^/?#]*@/.test(server)) throw new Error(`${source} must not hold a user name or password (${redacted(server)}): the admin key goes in --admin-key`);
    throw new Error(`${source} expects an http:// or https:// URL, got '${server}'`);
  }
  if (url.username || url.password) {
    throw new Error(`${source} must not hold a user name or password (${redacted(server)}): the admin key goes in --admin-key`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${source} expects an http:// or https:// URL, got '${server}'`);
  const adminKey = opts.adminKey ?? env.TOLLGATE_ADMIN_KEY;
  if (!adminKey) throw new Error('--server needs --admin-key (or TOLLGATE_ADMIN_KEY)');
  return { base: server.replace(/\/+$/, ''), adminKey };
}
