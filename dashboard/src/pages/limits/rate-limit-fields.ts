import { typedWholeNumber } from '../../whole-numbers.js';

// The project rate-limit form's fields and how their text reads as the API's body.

export const FIELDS = [
  { key: 'max_requests_per_1_minute', label: 'Requests / min' },
  { key: 'max_tokens_per_1_minute', label: 'Tokens / min' },
  { key: 'max_requests_per_1_day', label: 'Requests / day' },
] as const;

export type FieldKey = (typeof FIELDS)[number]['key'];

export const EMPTY_DRAFT: Record<FieldKey, string> = { max_requests_per_1_minute: '', max_tokens_per_1_minute: '', max_requests_per_1_day: '' };

/** The form's text fields as the API body: empty clears a dimension (null); otherwise a positive whole number (typedWholeNumber). */
export function parseLimits(draft: Record<FieldKey, string>): Record<FieldKey, number | null> | string {
  const body = {} as Record<FieldKey, number | null>;
  for (const f of FIELDS) {
    const read = typedWholeNumber(draft[f.key]);
    if (!read.ok || read.value === 0) return `${f.label} must be a positive whole number, or empty for no limit.`;
    body[f.key] = read.value;
  }
  return body;
}
