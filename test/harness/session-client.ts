import { expect } from 'vitest';
import type { TestServer } from './server.js';

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  headers: Headers;
}

/** A browser stand-in for the dashboard's calls: keeps the session cookie and sends the CSRF token on writes. */
export class SessionClient {
  cookie: string | null = null;
  csrf: string | null = null;
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      this.cookie = pair.endsWith('=') ? null : pair;
    }
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (parsed?.csrf_token) this.csrf = parsed.csrf_token;
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

/** Signs up the first account (the organization owner) with the instance's setup token. */
export async function signUpOwner(t: TestServer, email = 'owner@example.com', password = 'correct horse battery'): Promise<SessionClient> {
  const owner = new SessionClient(t.url);
  const res = await owner.call('POST', '/auth/signup', { email, password, setup_token: t.setupToken, name: 'Olive Owner' });
  expect(res.status).toBe(200);
  return owner;
}

/** Invites someone through the owner's session and signs them up: their own session. */
export async function joinAs(
  t: TestServer,
  owner: SessionClient,
  email: string,
  role: 'owner' | 'reader',
  projects?: Array<{ id: string; role: string }>,
): Promise<SessionClient> {
  const inv = await owner.call('POST', '/v1/organization/invites', { email, role, ...(projects ? { projects } : {}) });
  expect(inv.status).toBe(200);
  const token = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token');
  const member = new SessionClient(t.url);
  const res = await member.call('POST', '/auth/signup', { email, password: `${email} long password`, invite_token: token });
  expect(res.status).toBe(200);
  return member;
}
