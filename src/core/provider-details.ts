// What an upstream's answer may say about the provider's account, and must not reach a client: its organization ids
// (`org-…` in error messages such as "Rate limit reached for gpt-4o in organization org-abc…", and in objects such as
// fine-tuning jobs), and its API key, masked (`sk-proj-****abcd` in "Incorrect API key provided") or whole.

const ORG_ID = /\borg-[A-Za-z0-9]{8,}\b/g;
/** A masked key: `sk-` and key characters around a run of asterisks or an ellipsis. */
const MASKED_KEY = /\bsk-[A-Za-z0-9_-]*(?:\*{2,}|…|\.{3})[A-Za-z0-9_*-]*/g;

/** Whether a text may carry provider details (a cheap test before a rewrite). */
export function mayHoldProviderDetails(text: string, secrets: readonly string[]): boolean {
  return text.includes('org-') || text.includes('sk-') || secrets.some((s) => s.length > 0 && text.includes(s));
}

/** The text with provider organization ids and keys (masked or whole) replaced by neutral words. */
export function withoutProviderDetails(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[provider key]');
  return out.replace(MASKED_KEY, '[provider key]').replace(ORG_ID, '[provider organization]');
}

const RESULTS_URL = /"results_url"(\s*):(\s*)"https?:\/\/[^"/]+(?:\/[^"]*?)?(\/v1\/messages\/batches\/[^"/]+\/results)"/g;

/**
 * Anthropic's message batches name their results at the provider (`results_url`, absolute), where Anthropic's SDKs
 * fetch them from with the client's own key: a Tollgate key sent to the provider, and refused there. The path on
 * Tollgate is named instead (the SDKs resolve it against their base URL), so results are read through the gateway,
 * with the project's ownership checked.
 */
export function withResultsOnGateway(text: string): string {
  return text.includes('"results_url"') ? text.replace(RESULTS_URL, '"results_url"$1:$2"$3"') : text;
}
