import type { TokenCounts } from '../../core/pricing.js';
import type { KeyRecord } from '../../core/verify.js';

/** What a limit or budget needs to decide on a request before it is forwarded. */
export interface AdmitInput {
  record: KeyRecord;
  model: string | null;
  endpoint: string;
  /** The parsed JSON body (for token estimates), or null. */
  body: Record<string, unknown> | null;
  nowMs: number;
}

/** A granted request: headers for the answer, and a settle call with the real usage once it is known. */
export interface Admission {
  headers: Record<string, string>;
  settle(actual: { tokens: TokenCounts; costNanoUsd: number; billable: boolean }): void;
}

/**
 * The seam where rate limits, quotas and budgets plug into the gateway (checked after scope, before forwarding).
 * `admit` throws a TollgateError (429 with headers) to refuse.
 */
export interface RequestGuard {
  admit(input: AdmitInput): Admission | Promise<Admission>;
}
