/** How a typed dollar amount reads: whole cents (null when nothing was typed), or why it cannot be one. */
export type TypedCents = { ok: true; cents: number | null } | { ok: false; problem: 'format' | 'decimals' | 'too_large' };

/**
 * A dollar amount typed by a person, in whole cents: digits with at most two decimals, after an optional "$" ("25",
 * "$9.50", "$ 1000", ".5"). The dashboard's amount fields and the CLI's `--usd` read it so: the spend limit page refused
 * "$25" that the key dialog took, the key dialog read "0x19" as 25 and "1e3" as 1000 (Number's spellings) and rounded
 * 9.999 up to $10.00, and the CLI had a reading of its own.
 */
export function typedCents(typed: string): TypedCents {
  const text = typed.trim();
  if (text === '') return { ok: true, cents: null };
  const m = /^\$?\s*(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return { ok: false, problem: 'format' };
  const fraction = m[2] ?? '';
  if (fraction.length > 2) return { ok: false, problem: 'decimals' };
  const cents = Number(m[1] || '0') * 100 + Number(fraction.padEnd(2, '0'));
  // Past what a number holds exactly (20 nines were sent as 1e22 cents): more than any amount Tollgate takes.
  return Number.isSafeInteger(cents) ? { ok: true, cents } : { ok: false, problem: 'too_large' };
}
