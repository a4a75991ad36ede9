// Anthropic's fast mode as an answer names it. A message's usage says the speed it ran at (`usage.speed`: `fast` or
// `standard`; a stream's in its message_start): a request that asked for fast mode may run, and is then billed, at the
// standard speed, and an answer that ran fast is billed at the model's fast rates (core/pricing.ts `fast`) whatever the
// request asked. Only Anthropic's own spelling is fast: any other value is the standard speed, as Anthropic bills it.

export type Speed = 'fast' | 'standard';

/** The speed a usage object names (`fast` for exactly that, `standard` for any other value); null when it names none. */
export function speedNamed(usage: unknown): Speed | null {
  if (usage === null || typeof usage !== 'object' || !('speed' in usage)) return null;
  return (usage as { speed?: unknown }).speed === 'fast' ? 'fast' : 'standard';
}

/**
 * The speed an Anthropic answer ran at, from its usage: the one it names, the standard speed when it names none; null
 * when the answer has no usage object at all (then the answer says nothing of what ran: see http/gateway/metering.ts).
 */
export function answeredSpeed(usage: unknown): Speed | null {
  if (usage === null || typeof usage !== 'object' || Array.isArray(usage)) return null;
  return speedNamed(usage) ?? 'standard';
}
