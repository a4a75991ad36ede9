// An upstream's error answer, given to OpenAI's clients in OpenAI's Error shape: `{error: {message, type, param,
// code}}`, message and type strings, param and code strings or null (OpenAI's OpenAPI spec, `Error`). OpenAI-compatible
// servers differ: Gemini's OpenAI endpoint answers `{"error": {"code": 400, "message": …, "status": "INVALID_ARGUMENT"}}`
// (a number for code, no type or param), sometimes inside a list of one; the SDKs read `type` and `code` as strings.

/** OpenAI's type for an error of this HTTP status, for an upstream error that names none. */
function typeOfStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The upstream error `text` as OpenAI's Error (JSON), or null when it holds no error with a string message (the caller
 * wraps it). The message is kept; a type, param or code that is not a string is replaced (the type by the status's,
 * the code by the error's `status` name, `invalid_argument`, else null); other members are dropped: OpenAI's have none,
 * and another provider's (Gemini's `details`) may name its account.
 */
export function openAIErrorShape(text: string, status: number): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const outer = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
  const error = outer && typeof outer === 'object' ? (outer as { error?: unknown }).error : undefined;
  if (!error || typeof error !== 'object') return null;
  const e = error as Record<string, unknown>;
  if (typeof e.message !== 'string') return null;
  const named = str(e.status);
  return JSON.stringify({
    error: { message: e.message, type: str(e.type) ?? typeOfStatus(status), param: str(e.param), code: str(e.code) ?? (named ? named.toLowerCase() : null) },
  });
}
