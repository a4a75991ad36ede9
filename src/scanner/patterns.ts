import { type SecretKind, redactSecret } from '../core/key-format.js';
import { type KeyInText, findKeysInText } from '../core/key-search.js';

// Pure detection: find secrets in a chunk of text. Text is latin1-decoded bytes, so every key format
// here (all ASCII) matches byte for byte, even inside binary files; content.ts also hands it UTF-16 text and what
// gzip and zip content expand to. A new format's start goes into content.ts's UTF16_NEEDLES too.

export type SecretType = 'tollgate' | 'openai' | 'anthropic' | 'aws' | 'github';

/** A secret found in a text, at a 0-based character (= byte, for latin1 text) offset. */
export interface SecretMatch {
  type: SecretType;
  /** Another provider's key: reported, but only fails a scan with --fail-on-any. */
  secondary: boolean;
  secret: string;
  index: number;
  /** Tollgate keys only. */
  kind?: SecretKind;
}

interface Rule {
  type: Exclude<SecretType, 'tollgate'>;
  pattern: string;
  /** The leading part that identifies the format and is safe to show. */
  visiblePrefix: RegExp;
}

// Tollgate keys are not among these rules: core/key-search.ts finds them by a search of their own, at every
// occurrence of `sk-tg-`, so that no match of these rules and no look-alike failing its checksum can hide one (a
// single combined regex consumes what it matches: `sk-proj-…-sk-tg-…` was one OpenAI key, and `sk-tg-` + 44
// characters right before a key took the key's prefix). Tollgate keys need no boundary: the checksum rejects
// look-alikes, and a key glued to its neighbour (`key%3Dsk-tg-…`, `\nsk-tg-…`) is still found.
// Other providers' formats have no checksum we can verify, so they need word boundaries to stay precise.
const NOT_AFTER_ALNUM = '(?<![0-9A-Za-z])';

const RULES: readonly Rule[] = [
  // OpenAI project, service-account and admin keys: long, with `-` and `_` in the body.
  { type: 'openai', pattern: `${NOT_AFTER_ALNUM}sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}`, visiblePrefix: /^sk-[a-z]+-/ },
  // OpenAI legacy user keys: `sk-` + 48 alphanumerics. `sk-tg-…` cannot match: `-` is not in the body class.
  { type: 'openai', pattern: `${NOT_AFTER_ALNUM}sk-[A-Za-z0-9]{48}(?![A-Za-z0-9])`, visiblePrefix: /^sk-/ },
  // Anthropic: 93 body characters then `AA` (the format gitleaks publishes).
  {
    type: 'anthropic',
    pattern: `${NOT_AFTER_ALNUM}sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])`,
    visiblePrefix: /^sk-ant-[a-z0-9]+-/,
  },
  // AWS access key ids: long-term (AKIA) and temporary (ASIA).
  { type: 'aws', pattern: `${NOT_AFTER_ALNUM}A[KS]IA[0-9A-Z]{16}(?![0-9A-Za-z])`, visiblePrefix: /^A[KS]IA/ },
  // GitHub classic tokens (personal, OAuth, user-to-server, server-to-server, refresh) and fine-grained PATs.
  { type: 'github', pattern: `${NOT_AFTER_ALNUM}gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])`, visiblePrefix: /^gh[pousr]_/ },
  { type: 'github', pattern: `${NOT_AFTER_ALNUM}github_pat_[A-Za-z0-9_]{82}(?![A-Za-z0-9_])`, visiblePrefix: /^github_pat_/ },
];

// One regex with a capturing group per rule: a single pass over the text is several times faster than
// one pass per rule. Rule patterns must not contain capturing groups of their own.
const COMBINED_SOURCE = RULES.map((r) => `(${r.pattern})`).join('|');
const WHOLE = RULES.map((r) => new RegExp(`^(?:${r.pattern})$`));

/** Finds every secret in `text`, in order of offset; Tollgate look-alikes whose checksum fails are dropped. */
export function findSecrets(text: string): SecretMatch[] {
  const keys = findKeysInText(text);
  const out: SecretMatch[] = keys.map((k) => ({ type: 'tollgate', secondary: false, secret: k.secret, index: k.index, kind: k.kind }));
  const re = new RegExp(COMBINED_SOURCE, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const ruleIndex = m.findIndex((g, i) => i > 0 && g !== undefined) - 1;
    const secret = endBeforeKey(m[0], m.index, ruleIndex, keys);
    if (secret) out.push({ type: RULES[ruleIndex].type, secondary: true, secret, index: m.index });
  }
  return keys.length > 0 && out.length > keys.length ? out.sort((a, b) => a.index - b.index) : out;
}

/**
 * Another provider's match that runs into a Tollgate key (`sk-proj-…-sk-tg-…`, the key glued on by `-` or `_`) ends
 * where the key starts, less the separators; null when what is left is no longer of its format.
 */
function endBeforeKey(match: string, index: number, ruleIndex: number, keys: readonly KeyInText[]): string | null {
  const inside = keys.find((k) => k.index > index && k.index < index + match.length);
  if (!inside) return match;
  const cut = match.slice(0, inside.index - index).replace(/[-_]+$/, '');
  return WHOLE[ruleIndex].test(cut) ? cut : null;
}

/** Display form of any found secret: its format prefix and last four characters, never more. */
export function redactFound(type: SecretType, secret: string): string {
  if (type === 'tollgate') return redactSecret(secret);
  const rule = RULES.find((r) => r.type === type && r.visiblePrefix.test(secret));
  const prefix = rule ? (rule.visiblePrefix.exec(secret)?.[0] ?? '') : '';
  return `${prefix}…${secret.slice(-4)}`;
}

/** `text` (a path, a URL, a message naming one) with every secret in it replaced by its display form. */
export function redactSecretsInText(text: string): string {
  const found = findSecrets(text);
  if (found.length === 0) return text;
  let out = '';
  let from = 0;
  for (const m of found) {
    if (m.index < from) continue;
    out += text.slice(from, m.index) + redactFound(m.type, m.secret);
    from = m.index + m.secret.length;
  }
  return out + text.slice(from);
}
