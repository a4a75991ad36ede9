import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SECRET_PATTERN_SOURCE, generateSecret } from '../core/key-format.js';
import { findSecrets } from './patterns.js';

// docs/secret-scanning.md publishes rules other tools copy verbatim; this checks the published text itself.
const DOC = readFileSync(new URL('../../docs/secret-scanning.md', import.meta.url), 'utf8');

function codeBlocks(lang: string): string[] {
  return [...DOC.matchAll(/```(\w*)\n([\s\S]*?)```/g)].filter((m) => m[1] === lang).map((m) => m[2]);
}

function gitleaksRegex(): RegExp {
  const toml = codeBlocks('toml').join('\n');
  expect(toml).toMatch(/\[\[rules\]\]\nid = "tollgate-api-key"\ndescription = ".+"\n/);
  expect(toml).toContain('keywords = ["sk-tg-"]');
  const m = /^regex = '''(.+)'''$/m.exec(toml);
  if (!m) throw new Error('no gitleaks regex in the doc');
  // Go RE2 and JavaScript agree on this subset (\b, (?:…), classes, counted repetition).
  return new RegExp(m[1], 'g');
}

function secretlintRegex(): RegExp {
  const config = JSON.parse(codeBlocks('json')[0]) as {
    rules: Array<{ id: string; options: { patterns: Array<{ name: string; pattern: string }> } }>;
  };
  const rule = config.rules.find((r) => r.id === '@secretlint/secretlint-rule-pattern');
  const pattern = rule?.options.patterns[0].pattern ?? '';
  // A RegExp-like string: /source/flags (see @textlint/regexp-string-matcher).
  const m = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (!m) throw new Error(`not a RegExp-like string: ${pattern}`);
  return new RegExp(m[1], `${m[2].replace('g', '')}g`);
}

const keys = Array.from({ length: 200 }, (_, i) => generateSecret(i % 4 === 0 ? 'admin' : 'project', randomBytes));
const base62 = (n: number) => generateSecret('project', randomBytes).slice(6, 6 + n);
const badChecksum = (key: string) => key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');

const DECOYS: Array<[string, string]> = [
  ['too short', `sk-tg-${base62(45)}`],
  ['admin, too short', `sk-tg-admin-${base62(45)}`],
  ['too long', `sk-tg-${base62(46)}x`],
  ['wrong prefix', `sk-tx-${base62(46)}`],
  ['underscored prefix', `sk_tg_${base62(46)}`],
  ['OpenAI-style prefix', `sk-proj-${base62(46)}`],
  ['glued to a word', `mysk-tg-${base62(46)}`],
  ['underscore inside', `sk-tg-${base62(20)}_${base62(25)}`],
  ['hyphen inside', `sk-tg-${base62(20)}-${base62(25)}`],
  ['plus inside', `sk-tg-${base62(20)}+${base62(25)}`],
  ['non-ASCII letter inside', `sk-tg-${base62(20)}é${base62(25)}`],
];

describe.each([
  ['gitleaks', gitleaksRegex],
  ['secretlint', secretlintRegex],
])('the %s rule in docs/secret-scanning.md', (_tool, regex) => {
  it('matches 200 generated keys exactly, wherever they sit in a line', () => {
    const re = regex();
    for (const k of keys) {
      expect(`TOKEN="${k}"`.match(re)).toEqual([k]);
      expect(`${k}\n`.match(re)).toEqual([k]);
    }
  });

  it.each(DECOYS)('does not match a decoy: %s', (_what, decoy) => {
    expect(` ${decoy} `.match(regex())).toBeNull();
  });
});

describe('the published pattern and checksum in docs/secret-scanning.md', () => {
  it('quotes SECRET_PATTERN_SOURCE verbatim', () => {
    expect(codeBlocks('')).toContain(`${SECRET_PATTERN_SOURCE}\n`);
  });

  it('leaves checksum look-alikes to the checksum: the rules match them, the scanner drops them', () => {
    const decoys = keys.slice(0, 20).map(badChecksum);
    for (const d of decoys) expect(d.match(gitleaksRegex())).toEqual([d]);
    expect(findSecrets(decoys.join('\n'))).toEqual([]);
    expect(findSecrets(keys.slice(0, 20).join('\n'))).toHaveLength(20);
  });

  it('has a JavaScript checksum snippet that accepts real keys and rejects look-alikes', () => {
    const isValid = new Function(`${codeBlocks('js')[0]}\nreturn isValidTollgateKey;`)() as (s: string) => boolean;
    for (const k of keys) {
      expect(isValid(k)).toBe(true);
      expect(isValid(badChecksum(k))).toBe(false);
    }
    for (const [, decoy] of DECOYS) expect(isValid(decoy)).toBe(false);
  });

  const python = (() => {
    try {
      execFileSync('python3', ['--version']);
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!python)('has a Python checksum snippet that accepts real keys and rejects look-alikes', () => {
    const script = `${codeBlocks('python')[0]}\nimport sys\nfor line in sys.stdin.read().split():\n    print(is_valid_tollgate_key(line))\n`;
    const input = [...keys, ...keys.map(badChecksum)].join('\n');
    const out = execFileSync('python3', ['-c', script], { input, encoding: 'utf8' }).trim().split('\n');
    expect(out).toEqual([...keys.map(() => 'True'), ...keys.map(() => 'False')]);
  });
});
