// A provider's error answer, read from its fixed fields: OpenAI's `{error: {message, type, code}}` (Azure OpenAI's
// too), Anthropic's `{type: "error", error: {type, message}}`. What a provider's refusal is about (a key's limit or the
// request's size, a dead key or this request) is judged on these fields (core/rate-limit.ts, core/credential-pool.ts).

/** The most of an error answer read to judge it: providers' error bodies are a few hundred bytes. */
export const PROVIDER_ERROR_CHARS = 16_384;

/** The part of an error answer's bytes judged as the provider's error (one character past the cap: too long to be one). */
export function providerErrorText(bytes: Buffer): string {
  return bytes.toString('utf8', 0, PROVIDER_ERROR_CHARS + 1);
}

export interface ProviderError {
  /** The outer object's `type` (Anthropic's `"error"`), or null. */
  envelope: string | null;
  type: string | null;
  code: string | null;
  /** '' when the error has no message. */
  message: string;
}

/** The error object of a provider's answer, or null when the answer is longer than PROVIDER_ERROR_CHARS or has none. */
export function providerError(body: string): ProviderError | null {
  if (body.length > PROVIDER_ERROR_CHARS) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const outer = parsed as { error?: unknown; type?: unknown } | null;
  const error = outer?.error;
  if (!error || typeof error !== 'object') return null;
  const e = error as Record<string, unknown>;
  return { envelope: str(outer?.type), type: str(e.type), code: str(e.code), message: str(e.message) ?? '' };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
