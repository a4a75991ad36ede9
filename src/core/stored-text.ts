// Client text the gateway stores is bounded (issue 15 §7). A model name past its bound is refused (model-name.ts),
// a path is stored as its route template (api-routes.ts); text that is not refused for its length (an address a
// trusted proxy forwarded) is cut to a bound where it is stored.

/** The longest client address an audit entry keeps (an IPv6 address with a zone is under 64). */
export const MAX_STORED_ADDRESS = 64;

/** The text, cut to at most `max` characters (its last one `…`) when longer. */
export function boundedText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
