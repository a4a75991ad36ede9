import type { Command } from 'commander';
import { type Backend, openBackend } from './backend.js';
import { cliIo } from './io.js';
import { shown } from './output.js';

// What every CLI command does with the admin API: open the backend named by the global options, call it, turn an
// error answer into a readable message, resolve a project by name.

export interface GlobalOpts {
  json?: boolean;
  server?: string;
  adminKey?: string;
}

/** A refusal to show as `error: …` (the CLI exits 1). */
export class CliError extends Error {}

/**
 * Runs fn with the backend of the command's global options (local data dir, or --server), then closes it. A command
 * that only reads says so (`readOnly`): it is refused a local data dir that does not exist rather than making one.
 */
export async function withBackend<T>(cmd: Command, fn: (b: Backend, g: GlobalOpts) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  const backend = await openBackend({ server: g.server, adminKey: g.adminKey, readOnly: opts.readOnly }, cliIo().env);
  try {
    return await fn(backend, g);
  } finally {
    await backend.close();
  }
}

/**
 * One admin API call; an error answer becomes a CliError with OpenAI's message and code. Every answer of the admin API
 * the CLI calls is a JSON object: anything else (an empty body, `[]`) is the server answering unexpectedly, told so
 * (found by review: `Cannot read properties of null (reading 'data')` was all an empty 200 body got).
 */
export async function callApi(b: Backend, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  return answerOf(method, path, await b.call(method, path, body));
}

/** The JSON object an admin call answered (callApi), or the CliError its answer calls for. */
export function answerOf(method: string, path: string, res: { status: number; body: unknown }): Record<string, unknown> {
  const answer = resultOf(res) as unknown;
  if (answer === undefined) throw unexpectedAnswer(method, path, 'an empty body');
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw unexpectedAnswer(method, path, 'JSON that is not an object');
  return answer as Record<string, unknown>;
}

/** The body of an answer, or a CliError with its error message. */
export function resultOf(res: { status: number; body: unknown }): Record<string, unknown> {
  if (res.status >= 400) {
    const err = (res.body as { error?: { message?: string; code?: string } } | null)?.error;
    throw new CliError(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` (${err.code})` : ''}`);
  }
  return res.body as Record<string, unknown>;
}

/** An answer the CLI cannot read as the route's, in words rather than as the JavaScript error reading it would throw. */
export function unexpectedAnswer(method: string, path: string, what: string): CliError {
  return new CliError(`the server answered ${method} ${path.split('?')[0]} unexpectedly (${what}): is --server the Tollgate server's URL?`);
}

/** The items of a list answer (its `data` array), or the server answering unexpectedly. */
export function listItems<T = Record<string, unknown>>(page: Record<string, unknown>, path: string): T[] {
  if (!Array.isArray(page.data)) throw unexpectedAnswer('GET', path, 'a list without its data');
  return page.data as T[];
}

/**
 * Tracks a list's cursors (`after`, `page`): the next one, or the server answering unexpectedly when it gives none or
 * one it gave before (found by review: has_more with the same last_id made a list command ask for it forever).
 */
export function pageCursor(path: string): (next: unknown) => string {
  const given = new Set<string>();
  return (next) => {
    if (typeof next !== 'string' || next === '' || given.has(next)) throw unexpectedAnswer('GET', path, 'has_more, but a cursor that does not move on');
    given.add(next);
    return next;
  };
}

/** The items of a list route, page by page (`after` = the last page's last_id while has_more). */
export async function* listPages(b: Backend, path: string, query = ''): AsyncGenerator<Array<Record<string, unknown>>> {
  const nextCursor = pageCursor(path);
  let after = '';
  for (;;) {
    const page = await callApi(b, 'GET', `${path}?limit=100${query ? `&${query}` : ''}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    yield listItems(page, path);
    if (!page.has_more) return;
    after = nextCursor(page.last_id);
  }
}

/**
 * Every item of a list route, all pages read: a list command shows the whole list, never its first page alone. `query`
 * is the route's own filters (`include_revoked=true`, …).
 */
export async function listAll(b: Backend, path: string, query = ''): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for await (const items of listPages(b, path, query)) rows.push(...items);
  return rows;
}

/** A name in a message, in single quotes (or quoted and escaped when it holds control characters: output.ts shown). */
function quotedName(name: string): string {
  const escaped = shown(name);
  return escaped === name ? `'${name}'` : escaped;
}

/**
 * A project id from an id or an exact name. A name matches active projects only (an archived one is reached by its
 * id: found by a walkthrough, `--project Temp` took an archived "Temp" before the active one), and a name two or more
 * active projects share is refused with their ids (it took the oldest, and keys, limits and budgets went there).
 */
export async function projectIdOf(b: Backend, ref: string): Promise<string> {
  if (ref.startsWith('proj_')) return ref;
  const named = (await listAll(b, '/v1/organization/projects', 'include_archived=true')).filter((p) => p.name === ref);
  const active = named.filter((p) => p.status !== 'archived').map((p) => String(p.id));
  if (active.length === 1) return active[0];
  if (active.length > 1) {
    throw new CliError(`${active.length} active projects are named ${quotedName(ref)} (${active.join(', ')}): use the id (--project proj_…) to say which.`);
  }
  if (named.length > 0) {
    const archived = named.map((p) => String(p.id)).join(', ');
    throw new CliError(`No active project named ${quotedName(ref)} (archived: ${archived}); an archived project is reached by its id.`);
  }
  throw new CliError(`No project named ${quotedName(ref)}.`);
}

/**
 * A user of the organization (its `organization.user` object) from an id (`user-…`) or an email address, in any case
 * (the admin API's `emails` filter). An address nobody in the organization has is refused, naming it.
 */
export async function userOf(b: Backend, ref: string): Promise<{ id: string; email: string }> {
  if (ref.startsWith('user-')) {
    const user = await callApi(b, 'GET', `/v1/organization/users/${encodeURIComponent(ref)}`);
    return { id: String(user.id), email: String(user.email) };
  }
  // The filter reads `a,b` as two addresses: only an exact match (any case) is this one.
  const found = (await listAll(b, '/v1/organization/users', `emails=${encodeURIComponent(ref)}`)).filter((u) => String(u.email).toLowerCase() === ref.toLowerCase());
  if (found.length === 0) throw new CliError(`No user with the email ${quotedName(ref)} in the organization.`);
  return { id: String(found[0].id), email: String(found[0].email) };
}
