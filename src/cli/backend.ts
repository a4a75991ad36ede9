import { userInfo } from 'node:os';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { createAppContext } from '../http/app-context.js';
import { createRuntime, type Runtime } from '../runtime.js';
import type { Actor } from '../services/context.js';
import { setupTokenFile } from '../infra/setup-token-file.js';
import { cliClock } from './io.js';
import { requestIdSource } from '../core/ids.js';
import { remoteServer } from './server-url.js';

/** A call to the admin API: in-process on the local data dir, or over HTTP to a running server. */
export interface Backend {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export interface BackendOptions {
  server?: string;
  adminKey?: string;
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
        const res = await fetch(remote.base + path, {
          method,
          headers: { authorization: `Bearer ${remote.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: jsonAnswer(res.status, res.headers.get('content-type'), await res.text()) };
      },
      async close() {},
    };
  }
  const runtime = await openLocalRuntime(env);
  const logger = pino({ level: 'silent' });
  const actor = cliActor();
  const app = await buildApp(createAppContext(runtime, logger), {
    logger,
    sessionResolver: async () => ({ ...actor }),
    newRequestId: requestIdSource(runtime.deps.randomBytes),
  });
  return {
    async call(method, path, body) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        payload: body !== undefined ? JSON.stringify(body) : undefined,
        headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
    },
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** An answer's JSON body (null when empty); a proxy's error page, say, is told as what it is, not as a parse error. */
function jsonAnswer(status: number, contentType: string | null, text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    const type = contentType?.split(';')[0].trim();
    throw new Error(`the server answered ${status} with non-JSON content${type ? ` (${type})` : ''}: is --server the Tollgate server's URL?`);
  }
}

/** The local data dir's runtime (database migrated, organization initialised), for commands that act on it directly. */
export async function openLocalRuntime(env: Record<string, string | undefined>): Promise<Runtime> {
  const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
  return createRuntime(config, { clock: cliClock(), usageWorker: false });
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
