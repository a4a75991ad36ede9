import { memberInAnyCase } from './member-case.js';
import type { AnswerObject } from './object-refs.js';

// Anthropic's Messages API runs Claude's code (the code execution tool, Agent Skills, web search and fetch with dynamic
// filtering) in a container it makes for the request, and names it in the answer's top-level `container`
// (`{id, expires_at, skills}`; in a stream, in message_start's message and message_delta's delta). A client passes that
// id back as `container` on its next turn, where it is checked as the project's: so the answer's container is recorded.

/** Web search and fetch tools from this version on filter results by running code in a container (dynamic filtering). */
const FILTERING_SINCE = 20260209;

function runsCode(tool: unknown): boolean {
  // In any case, as an upstream folding names reads it (member-case.ts): `{"Type": "code_execution_…"}` runs code too.
  const type = tool !== null && typeof tool === 'object' && !Array.isArray(tool) ? memberInAnyCase(tool as Record<string, unknown>, 'type') : undefined;
  if (typeof type !== 'string') return false;
  if (type.startsWith('code_execution_')) return true;
  const m = /^web_(?:search|fetch)_(\d{8})$/.exec(type);
  return m !== null && Number(m[1]) >= FILTERING_SINCE;
}

/**
 * Whether a Messages request may make (or keep using) a container: it asks for one (`container`, an id or
 * `{id, skills}`) or offers a tool that runs code. Other requests' answers are not read for one. A few type checks.
 */
export function mayMakeContainer(body: Record<string, unknown>): boolean {
  if (body.container !== undefined && body.container !== null) return true;
  return Array.isArray(body.tools) && body.tools.some(runsCode);
}

/** The container a message names (a whole answer, or message_start's message, or message_delta's delta). */
export function containerOf(holder: unknown): AnswerObject | null {
  const container = (holder as { container?: unknown } | null)?.container;
  const id = (container as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id !== '' ? { type: 'container', id, createdAt: null } : null;
}
