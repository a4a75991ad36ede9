import { existsSync, rmdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { installAdminAuth } from '../http/admin/admin-auth.js';
import { registerInviteRoutes } from '../http/auth/invites.js';
import { createAppContext } from '../http/app-context.js';
import { createRuntime, type Runtime } from '../runtime.js';
import type { Actor } from '../services/context.js';
import { setupTokenFile } from '../infra/setup-token-file.js';
import { cliClock, cliIo } from './io.js';
import { requestIdSource } from '../core/ids.js';
import { isTimeout, remoteServer, serverTimedOut, serverUnreachable } from './server-url.js';
import { redirectRefusal } from '../scanner/report.js';

/** A call to the admin API: in-process on the local data dir, or over HTTP to a running server. */
export interface Backend {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
  /** The server's URL (--server), or null for the local data dir, which no server address comes with. */
  server: string | null;
}

export interface BackendOptions {
  server?: string;
  adminKey?: string;
  /** The command only reads: a local data dir that does not exist is refused, not made (openLocalRuntime). */
  readOnly?: boolean;
}

/**
 * Local mode opens the database directly (initialising it on first use, like the first server start) and
 * runs the same admin routes in-process, so both modes share one code path and one set of checks.
 * A running server learns of local changes through the key change feed within its poll interval.
 */
export async function openBackend(opts: BackendOptions, env: Record<string, string | undefined>): Promise<Backend> {
  const remote = remoteServer(opts, env);
  if (remote) {
    return {
      async call(method, path, body) {
        let res: Response;
        let text: string;
        try {
          res = await fetch(remote.base + path, {
            method,
            headers: { authorization: `Bearer ${remote.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
            body: body !== undefined ? JSON.stringify(body) : undefined,
            // A redirect is refused, not followed: it would take the admin key and the body (a provider key) elsewhere.
            redirect: 'manual',
            // The whole call, the answer's body read too.
            signal: AbortSignal.timeout(remote.timeoutMs),
          });
          text = await res.text();
        } catch (err) {
          throw new Error(isTimeout(err) ? serverTimedOut(remote.base, remote.timeoutMs) : serverUnreachable(remote.base, err));
        }
        if (res.status >= 300 && res.status < 400) {
          throw new Error(`the server ${redirectRefusal(res.status, res.headers.get('location'), remote.base + path, path)}`);
        }
        return { status: res.status, body: jsonAnswer(res.status, res.headers.get('content-type'), text) };
      },
      async close() {},
      server: remote.base,
    };
  }
  const runtime = await openLocalRuntime(env, { readOnly: opts.readOnly });
  const logger = pino({ level: 'silent' });
  const actor = cliActor();
  const ctx = createAppContext(runtime, logger);
  const asCli = async () => ({ ...actor });
  const app = await buildApp(ctx, {
    logger,
    sessionResolver: asCli,
    newRequestId: requestIdSource(runtime.deps.randomBytes),
    // The invitations are the dashboard's routes on a server (http/dashboard/wiring.ts); here they act as the CLI too.
    plugins: [(scope) => registerInviteRoutes(scope, ctx, (invites) => installAdminAuth(invites, ctx, asCli))],
  });
  return {
    async call(method, path, body) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        payload: body !== undefined ? JSON.stringify(body) : undefined,
        headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
    },
    async close() {
      await app.close();
      await runtime.close();
    },
    server: null,
  };
}

/** An answer's JSON body (undefined when empty); a proxy's error page, say, is told as what it is, not as a parse error. */
function jsonAnswer(status: number, contentType: string | null, text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    const type = contentType?.split(';')[0].trim();
    throw new Error(`the server answered ${status} with non-JSON content${type ? ` (${type})` : ''}: is --server the Tollgate server's URL?`);
  }
}

/**
 * The local data dir's runtime (database migrated, organization initialised), for commands that act on it directly.
 * Found by a walkthrough: the default `./data` is relative to where the CLI runs, and run from a subdirectory it
 * silently made a new organization there (and printed an admin key the running server did not know). A data dir the
 * CLI makes is told on standard error with its absolute path (standard output stays the command's, for scripts); a
 * command that only reads refuses to make one, when the database would be in it: an empty new organization answering
 * "(none)" would mislead.
 */
export async function openLocalRuntime(env: Record<string, string | undefined>, opts: { readOnly?: boolean } = {}): Promise<Runtime> {
  const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
  const dir = resolve(config.dataDir);
  const absent = !existsSync(dir);
  if (opts.readOnly) {
    const file = sqliteFileOf(config.databaseUrl);
    if (file === undefined && absent) {
      throw new Error(`no Tollgate data directory at ${dir}: nothing to read there (set TOLLGATE_DATA_DIR to the server's, or use --server)`);
    }
    if (file && !existsSync(file)) {
      throw new Error(`no Tollgate database at ${resolve(file)}: nothing to read there (check DATABASE_URL, or use --server)`);
    }
  }
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, { clock: cliClock(), usageWorker: false });
  } catch (err) {
    // A data dir this run made and could not use (its secret refused by the server's database): not left behind, when
    // nothing else is in it.
    if (absent) rmEmptyDir(dir);
    throw err;
  }
  for (const warning of config.warnings) cliIo().err(`warning: ${warning}\n`);
  // Told only when it was made: with PostgreSQL (or SQLite elsewhere) and TOLLGATE_SECRET nothing is put in it.
  if (absent && existsSync(dir)) cliIo().err(`Created a new Tollgate data directory at ${dir} (set TOLLGATE_DATA_DIR to use another)\n`);
  return runtime;
}

function rmEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or not there
  }
}

/**
 * Where DATABASE_URL puts a SQLite database: in the data dir (undefined: DATABASE_URL unset), a file of its own
 * (`sqlite:PATH`), or nowhere a reader could miss (null: PostgreSQL, `sqlite::memory:`).
 */
function sqliteFileOf(url: string | undefined): string | null | undefined {
  if (!url) return undefined;
  if (!url.startsWith('sqlite:')) return null;
  const file = url.slice('sqlite:'.length);
  return file === ':memory:' ? null : file;
}

/** The audit actor of a local command: the operating-system user who ran it. */
export function cliActor(): Actor {
  let who = 'cli';
  try {
    who = userInfo().username;
  } catch {
    // no passwd entry (containers): keep 'cli'
  }
  return { type: 'cli', id: who, ip: null, userAgent: 'tollgate-cli' };
}

/** The setup token's file in a local data dir (the adapter, handed to the commands from here). */
export const localSetupTokenFile = setupTokenFile;
