import type { GatewayContext } from './gateway-context.js';

// The models list an instance keeps (models.ts) is read again before its next answer once a model was made through it:
// a fine-tuned model recorded as a project's when its job is read succeeded would otherwise be missing from
// GET /v1/models for up to a minute (found by a review). Apart from models.ts, which owned-answers.ts reaches through
// ownership.ts: no import cycle.

const stale = new WeakSet<GatewayContext>();

/** Marks the models listing of `g` out of date. */
export function markModelListingStale(g: GatewayContext): void {
  stale.add(g);
}

/** Whether the listing of `g` was marked out of date since it was last read (and clears the mark). */
export function takeModelListingStale(g: GatewayContext): boolean {
  return stale.delete(g);
}

/** Whether the listing of `g` is marked out of date. */
export function isModelListingStale(g: GatewayContext): boolean {
  return stale.has(g);
}
