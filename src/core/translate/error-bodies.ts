import { type AnthropicErrorBody, anthropicError } from '../anthropic-errors.js';
import { isObject } from './shared.js';

// An upstream's error answer in the client's shape when the two differ: an Anthropic error for an OpenAI client, an
// OpenAI error for an Anthropic client. The status stays; the message is the provider's (already cleared of the
// provider's account details by the caller), or a snippet of a body that is neither shape.

const snippetOf = (text: string) => text.replace(/\s+/g, ' ').slice(0, 200);

/** OpenAI's error type for an HTTP status. */
const openAIType = (status: number) => (status >= 500 ? 'api_error' : status === 429 ? 'rate_limit_error' : 'invalid_request_error');

/** An Anthropic provider's error answer (text) as OpenAI's error body; `code` is Anthropic's error code or type. */
export function anthropicErrorAsOpenAI(status: number, text: string, provider: string): { error: { message: string; type: string; param: null; code: string | null } } {
  let message = `The upstream provider '${provider}' answered ${status}${text.trim() ? `: ${snippetOf(text)}` : ''}.`;
  let code: string | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    const err = isObject(parsed) && isObject(parsed.error) ? parsed.error : null;
    if (err && typeof err.message === 'string') {
      message = err.message;
      const details = isObject(err.details) ? err.details : null;
      code = typeof details?.error_code === 'string' ? details.error_code : typeof err.type === 'string' ? err.type : null;
    }
  } catch {
    // not JSON: the snippet
  }
  return { error: { message, type: openAIType(status), param: null, code } };
}

/** An OpenAI-compatible provider's error answer (text) as Anthropic's error body; OpenAI's `code` goes in details. */
export function openAIErrorAsAnthropic(status: number, text: string, provider: string, requestId: string | null): AnthropicErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    const err = isObject(parsed) && isObject(parsed.error) ? parsed.error : null;
    if (err && typeof err.message === 'string') {
      const body = anthropicError(status, err.message, requestId);
      if (typeof err.code === 'string' && err.code) body.error.details = { error_code: err.code };
      return body;
    }
  } catch {
    // not JSON: the snippet
  }
  return anthropicError(status, `The upstream provider '${provider}' answered ${status}${text.trim() ? `: ${snippetOf(text)}` : ''}.`, requestId);
}

/** A text that is already an Anthropic error body (passed on to an Anthropic client), parsed; null for any other. */
export function anthropicErrorBodyOf(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) && parsed.type === 'error' && isObject(parsed.error) && typeof parsed.error.message === 'string' ? parsed : null;
  } catch {
    return null;
  }
}
