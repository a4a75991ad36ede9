import { userInfo } from 'node:os';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { createAppContext } from '../http/app-context.js';
import { createRuntime } from '../runtime.js';
import { cliClock } from './io.js';

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
  const server = opts.server ?? env.TOLLGATE_URL;
  if (server) {
    const key = opts.adminKey ?? env.TOLLGATE_ADMIN_KEY;
    if (!key) throw new Error('--server needs --admin-key (or TOLLGATE_ADMIN_KEY)');
    const base = server.replace(/\/+$/, '');
    return {
      async call(method, path, body) {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
      async close() {},
    };
  }
  const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
  const runtime = await createRuntime(config, { clock: cliClock() });
  const logger = pino({ level: 'silent' });
  const who = safeUser();
  const app = await buildApp(
    createAppContext(runtime, logger),
    { logger, sessionResolver: async () => ({ type: 'cli', id: who, ip: null, userAgent: 'tollgate-cli' }) },
  );
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

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}
