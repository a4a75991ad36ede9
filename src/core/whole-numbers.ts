/** How a typed whole number reads: the number (null when nothing was typed), or why it cannot be one. */
export type TypedWholeNumber = { ok: true; value: number | null } | { ok: false; problem: 'format' | 'too_large' };

/**
 * A whole number typed by a person: decimal digits, or thousands grouped by commas in threes ("1000", "1,000",
 * "12,500,000"), spaces around allowed. The dashboard's limit and quota fields read it so: through Number() the key
 * dialog saved "0x19" as 25, "1e3" as 1000 and "0b101" as 5, and after stripping separators "1,5" as 15 and "2_0" as
 * 20, while the project's rate-limit form refused "1,000" (the key dialog's "10,000") and took "0x19" too.
 */
export function typedWholeNumber(typed: string): TypedWholeNumber {
  const text = typed.trim();
  if (text === '') return { ok: true, value: null };
  if (!/^(?:\d+|\d{1,3}(?:,\d{3})+)$/.test(text)) return { ok: false, problem: 'format' };
  const value = Number(text.replaceAll(',', ''));
  // Past what a number holds exactly: more than any limit Tollgate takes.
  return Number.isSafeInteger(value) ? { ok: true, value } : { ok: false, problem: 'too_large' };
}
