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

/** One admin API call; an error answer becomes a CliError with OpenAI's message and code. */
export async function callApi(b: Backend, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  return resultOf(await b.call(method, path, body));
}

/** The body of an answer, or a CliError with its error message. */
export function resultOf(res: { status: number; body: unknown }): Record<string, unknown> {
  if (res.status >= 400) {
    const err = (res.body as { error?: { message?: string; code?: string } } | null)?.error;
    throw new CliError(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` (${err.code})` : ''}`);
  }
  return res.body as Record<string, unknown>;
}

/**
 * Every item of a list route, page after page (`after` = the last page's last_id while has_more): a list command shows
 * the whole list, never its first page alone. `query` is the route's own filters (`include_revoked=true`, …).
 */
export async function listAll(b: Backend, path: string, query = ''): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  let after = '';
  for (;;) {
    const page = await callApi(b, 'GET', `${path}?limit=100${query ? `&${query}` : ''}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    rows.push(...(page.data as Array<Record<string, unknown>>));
    if (!page.has_more) return rows;
    after = String(page.last_id);
  }
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
