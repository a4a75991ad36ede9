// The provider form's fields turned into the admin API's body (pure: tested in test/dashboard-logic.test.ts).

export interface ProviderDraft {
  name: string;
  kind: 'openai' | 'azure-openai' | 'anthropic';
  baseUrl: string;
  /** Comma- or space-separated: exact model ids, and prefixes written with a trailing `*` (`claude-*`). */
  models: string;
  apiVersion: string;
}

export const EMPTY_PROVIDER: ProviderDraft = { name: '', kind: 'openai', baseUrl: '', models: '', apiVersion: '' };

/** The create body: `models` split into exact ids and `model_prefixes` (those written `prefix*`). */
export function providerBody(d: ProviderDraft): Record<string, unknown> {
  const items = d.models
    .split(/[\s,]+/)
    .map((m) => m.trim())
    .filter(Boolean);
  const models = items.filter((m) => !m.endsWith('*'));
  const prefixes = items.filter((m) => m.endsWith('*')).map((m) => m.slice(0, -1));
  return {
    name: d.name.trim(),
    kind: d.kind,
    base_url: d.baseUrl.trim(),
    ...(models.length ? { models } : {}),
    ...(prefixes.length ? { model_prefixes: prefixes } : {}),
    ...(d.apiVersion.trim() ? { api_version: d.apiVersion.trim() } : {}),
  };
}

/** What a credential's status reads as. */
export function credentialStatusLabel(c: { status: 'active' | 'disabled'; disabled_reason: string | null }): string {
  if (c.status === 'active') return 'active';
  if (c.disabled_reason === 'undecryptable') return 'cannot be decrypted: rotate it';
  return c.disabled_reason === 'upstream_refused' ? 'refused by provider' : 'disabled';
}

/**
 * A weight typed in the form: decimal digits with an optional fraction, above zero; null (empty) for the default (1).
 * Through Number() "x" and "0" were sent as the default and "0x19" as 25, without a word: anything else is refused.
 */
export function weightOf(text: string): { ok: true; weight: number | null } | { ok: false; message: string } {
  const t = text.trim();
  if (t === '') return { ok: true, weight: null };
  const weight = Number(t);
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(t) || !(weight > 0)) return { ok: false, message: 'The weight is a number above zero, such as 2 or 0.5; empty for 1.' };
  return { ok: true, weight };
}
