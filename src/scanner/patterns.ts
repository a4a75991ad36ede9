import { SECRET_PATTERN_SOURCE, type SecretKind, parseSecret, redactSecret } from '../core/key-format.js';

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
  type: SecretType;
  pattern: string;
  /** The leading part that identifies the format and is safe to show. */
  visiblePrefix: RegExp;
}

// Other providers' formats have no checksum we can verify, so they need word boundaries to stay precise.
// Tollgate keys need none: the checksum rejects look-alikes, and no boundary means we still find a key
// glued to its neighbour (`key%3Dsk-tg-…` in a URL-encoded query, `\nsk-tg-…` in an escaped string).
const NOT_AFTER_ALNUM = '(?<![0-9A-Za-z])';

const RULES: readonly Rule[] = [
  { type: 'tollgate', pattern: SECRET_PATTERN_SOURCE, visiblePrefix: /^sk-tg-(?:admin-)?/ },
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

/** Finds every secret in `text`; Tollgate look-alikes whose checksum fails are dropped. */
export function findSecrets(text: string): SecretMatch[] {
  const re = new RegExp(COMBINED_SOURCE, 'g');
  const out: SecretMatch[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const ruleIndex = m.findIndex((g, i) => i > 0 && g !== undefined) - 1;
    const rule = RULES[ruleIndex];
    const secret = m[0];
    if (rule.type === 'tollgate') {
      const parsed = parseSecret(secret);
      if (parsed) out.push({ type: 'tollgate', secondary: false, secret, index: m.index, kind: parsed.kind });
    } else {
      out.push({ type: rule.type, secondary: true, secret, index: m.index });
    }
  }
  return out;
}

/** Display form of any found secret: its format prefix and last four characters, never more. */
export function redactFound(type: SecretType, secret: string): string {
  if (type === 'tollgate') return redactSecret(secret);
  const rule = RULES.find((r) => r.type === type && r.visiblePrefix.test(secret));
  const prefix = rule ? (rule.visiblePrefix.exec(secret)?.[0] ?? '') : '';
  return `${prefix}…${secret.slice(-4)}`;
}
