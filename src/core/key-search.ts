import { ADMIN_KEY_PREFIX, CHECKSUM_LENGTH, PROJECT_KEY_PREFIX, SECRET_RANDOM_LENGTH, type SecretKind, parseSecret, redactSecret } from './key-format.js';

// Finds Tollgate secrets in any text by their own search, not as one alternative of a larger regex: every occurrence
// of the prefix is a candidate, checked by its checksum, so neither another format's match nor a look-alike that
// fails its checksum can consume the start of a real key (a review's repro: `sk-proj-…-sk-tg-…` and
// `sk-tg-<44 characters>sk-tg-…`). Candidates may overlap; a valid key's body (base62) never holds the prefix, so
// two valid keys never do.

/** A valid Tollgate secret in a text, at a 0-based character offset. */
export interface KeyInText {
  secret: string;
  index: number;
  kind: SecretKind;
}

const PROJECT_LENGTH = PROJECT_KEY_PREFIX.length + SECRET_RANDOM_LENGTH + CHECKSUM_LENGTH;
const ADMIN_LENGTH = ADMIN_KEY_PREFIX.length + SECRET_RANDOM_LENGTH + CHECKSUM_LENGTH;

/** Every Tollgate secret (project or admin) with a valid checksum in `text`, in order; no boundary is needed around it. */
export function findKeysInText(text: string): KeyInText[] {
  const out: KeyInText[] = [];
  for (let at = text.indexOf(PROJECT_KEY_PREFIX); at !== -1; at = text.indexOf(PROJECT_KEY_PREFIX, at + 1)) {
    // `sk-tg-admin-…` is never a valid project key (`-` is not base62), so at most one reading is valid.
    const candidate = text.startsWith(ADMIN_KEY_PREFIX, at) ? text.slice(at, at + ADMIN_LENGTH) : text.slice(at, at + PROJECT_LENGTH);
    const parsed = parseSecret(candidate);
    if (parsed) out.push({ secret: candidate, index: at, kind: parsed.kind });
  }
  return out;
}

/** `text` with each Tollgate secret in it replaced by its redacted form (`sk-tg-…Ab3x`). */
export function redactKeysInText(text: string): string {
  const keys = findKeysInText(text);
  if (keys.length === 0) return text;
  let out = '';
  let from = 0;
  for (const k of keys) {
    out += text.slice(from, k.index) + redactSecret(k.secret);
    from = k.index + k.secret.length;
  }
  return out + text.slice(from);
}
