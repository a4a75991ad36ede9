// What a request may cost before it runs: TPM reservations and budget reservations are settled to the real usage
// afterwards. Input is estimated from text length (≈4 characters per token, erring high for code and JSON), output
// from max_tokens / max_completion_tokens / max_output_tokens, else a configured default.

export interface TokenEstimate {
  input: number;
  output: number;
}

// Depth-capped: a body nested 10,000 deep must not overflow the stack (what lies deeper is not prompt text anyway).
function textLength(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (depth > 32) return 0;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + textLength(x, depth + 1), 0);
  if (v && typeof v === 'object') {
    let n = 0;
    for (const [k, x] of Object.entries(v)) if (k !== 'image_url') n += textLength(x, depth + 1);
    return n;
  }
  return 0;
}

/** Upper-leaning token estimate of a request body. */
export function estimateTokens(body: Record<string, unknown> | null, endpoint: string, defaultMaxOutput: number): TokenEstimate {
  if (!body) return { input: 0, output: 0 };
  const source = body.messages ?? body.input ?? body.prompt ?? '';
  const input = Math.ceil(textLength(source) / 4) + (Array.isArray(body.messages) ? 3 * body.messages.length + 3 : 0);
  if (endpoint === '/embeddings') return { input, output: 0 };
  const declared = [body.max_completion_tokens, body.max_tokens, body.max_output_tokens].find((v) => typeof v === 'number' && v > 0) as number | undefined;
  const n = typeof body.n === 'number' && body.n > 1 ? Math.min(body.n, 128) : 1;
  return { input, output: (declared ?? defaultMaxOutput) * n };
}
