// Where a request stands against Tollgate's limits, as data: the answer's headers are named at the HTTP edge in the
// client's API (OpenAI's `x-ratelimit-*`, Anthropic's `anthropic-ratelimit-*`: http/gateway/limit-headers.ts).

/** One limit: the tightest of its kind the request is under. */
export interface LimitLevel {
  limit: number;
  remaining: number;
  /** When the limit is whole again, in milliseconds since the epoch (the limits guard's clock at its decision). */
  resetAtMs: number;
}

/** The tightest request limit (RPM or RPD) and the tightest token limit (TPM), each null when none holds. */
export interface LimitState {
  requests: LimitLevel | null;
  tokens: LimitLevel | null;
}
