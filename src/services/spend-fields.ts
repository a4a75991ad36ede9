import { text } from './text-fields.js';

// Members shared by spend limits and spend alerts.

/** `currency`: OpenAI's only one, USD (in any case); Tollgate prices and counts in US dollars and converts nothing. */
export const CurrencySchema = text({ max: 16 })
  .refine((v) => v.toUpperCase() === 'USD', 'Tollgate keeps amounts in US dollars only: currency must be USD.')
  .transform(() => 'USD' as const);
