import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { findSecrets, redactFound, redactSecretsInText } from './patterns.js';

const projectKey = () => generateSecret('project', randomBytes);
const adminKey = () => generateSecret('admin', randomBytes);
/** The same key with its last checksum character changed: right shape, wrong checksum. */
const badChecksum = (key: string) => key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');

const OPENAI_PROJ = `sk-proj-${'Ab3_-x'.repeat(20)}`;
const OPENAI_LEGACY = `sk-${'a1B2c3D4'.repeat(6)}`;
const ANTHROPIC = `sk-ant-api03-${'x_Y-9'.repeat(18)}abcAA`;
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const GITHUB = `ghp_${'R2d2C3po'.repeat(4)}abcd`;
const GITHUB_PAT = `github_pat_11ABCDEFG0${'x'.repeat(12)}_${'Yz9'.repeat(19)}ab`;

describe('findSecrets: Tollgate keys', () => {
  it('finds project and admin keys with their kind and offset', () => {
    const p = projectKey();
    const a = adminKey();
    const text = `KEY=${p}\nADMIN="${a}"`;
    expect(findSecrets(text)).toEqual([
      { type: 'tollgate', secondary: false, secret: p, index: 4, kind: 'project' },
      { type: 'tollgate', secondary: false, secret: a, index: text.indexOf(a), kind: 'admin' },
    ]);
  });

  it('drops a look-alike whose checksum fails, and does not report it as anything else', () => {
    expect(findSecrets(`x ${badChecksum(projectKey())} y ${badChecksum(adminKey())}`)).toEqual([]);
  });

  it('ignores bodies of the wrong length', () => {
    const k = projectKey();
    expect(findSecrets(k.slice(0, -1))).toEqual([]);
    expect(findSecrets(`sk-tg-${'A'.repeat(47)}`)).toEqual([]);
  });

  it('finds a key glued to letters on either side (URL-encoded, escaped strings)', () => {
    const k = projectKey();
    expect(findSecrets(`?q%3D${k}&x`).map((m) => m.secret)).toEqual([k]);
    expect(findSecrets(`"\\n${k}\\n"`).map((m) => m.secret)).toEqual([k]);
    expect(findSecrets(`${k}more`).map((m) => m.secret)).toEqual([k]);
  });

  it('finds a key among NUL and high bytes (binary file decoded as latin1)', () => {
    const k = projectKey();
    const bytes = Buffer.concat([Buffer.from([0, 255, 0, 10, 200]), Buffer.from(k), Buffer.from([0, 0, 254])]);
    expect(findSecrets(bytes.toString('latin1'))).toMatchObject([{ secret: k, index: 5 }]);
  });

  it('finds a key whatever text surrounds it', () => {
    const k = projectKey();
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const found = findSecrets(before + k + after).filter((m) => m.type === 'tollgate');
        return found.length === 1 && found[0].secret === k && found[0].index === before.length;
      }),
    );
  });

  // Review finding: one combined regex consumed its matches, so another rule's match, or a look-alike failing its
  // checksum, hid a real key that overlapped it.
  it.each([
    ['glued after an OpenAI project key by `-`', (k: string) => `KEYS=sk-proj-${'x'.repeat(48)}-${k}\n`],
    ['glued after an OpenAI service-account key by `_`', (k: string) => `KEYS=sk-svcacct-${'x'.repeat(48)}_${k}\n`],
    ['glued after an OpenAI admin key', (k: string) => `sk-admin-${'Q'.repeat(40)}-${k}`],
    ['right after a look-alike whose checksum fails', (k: string) => `KEYS=sk-tg-${'x'.repeat(44)}${k}\n`],
    ['right after an admin look-alike', (k: string) => `sk-tg-admin-${'x'.repeat(44)}${k}`],
    ['inside a longer run of look-alikes', (k: string) => `sk-tg-sk-tg-${'x'.repeat(30)}sk-tg-${'y'.repeat(10)}${k}sk-tg-`],
  ])('finds a Tollgate key %s', (_what, wrap) => {
    for (const k of [projectKey(), adminKey()]) {
      const text = wrap(k);
      expect(findSecrets(text).filter((m) => m.type === 'tollgate')).toEqual([
        { type: 'tollgate', secondary: false, secret: k, index: text.indexOf(k), kind: k.startsWith('sk-tg-admin-') ? 'admin' : 'project' },
      ]);
    }
  });

  it('ends another provider\'s key where a Tollgate key glued to it starts', () => {
    const k = projectKey();
    const openai = `sk-proj-${'x'.repeat(48)}`;
    const found = findSecrets(`${openai}-${k}`);
    expect(found.map((m) => [m.type, m.secret])).toEqual([
      ['openai', openai],
      ['tollgate', k],
    ]);
    // What is left before the key is too short to be an OpenAI key: only the Tollgate key is reported.
    expect(findSecrets(`sk-proj-${'x'.repeat(10)}-${k}`).map((m) => m.type)).toEqual(['tollgate']);
  });

  it('finds every key among any mix of look-alikes and other providers\' keys', () => {
    const piece = fc.constantFrom('sk-tg-', 'sk-tg-admin-', 'sk-proj-', 'sk-svcacct-', '-', '_', 'x', 'A', '0', 'xxxxxxxxxx', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const k = projectKey();
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(piece, { maxLength: 12 }), (before, after) => {
        const text = before.join('') + k + after.join('');
        return findSecrets(text).some((m) => m.type === 'tollgate' && m.secret === k && m.index === before.join('').length);
      }),
    );
  });

  it('never reports a Tollgate key as an OpenAI key', () => {
    for (let i = 0; i < 200; i++) {
      const k = i % 2 ? projectKey() : adminKey();
      expect(findSecrets(` ${k} `).map((m) => m.type)).toEqual(['tollgate']);
    }
  });
});

describe('findSecrets: other providers (secondary)', () => {
  it.each([
    ['openai', OPENAI_PROJ],
    ['openai', `sk-admin-${'Q'.repeat(60)}`],
    ['openai', `sk-svcacct-${'q1'.repeat(30)}`],
    ['openai', OPENAI_LEGACY],
    ['anthropic', ANTHROPIC],
    ['aws', AWS],
    ['aws', 'ASIAY34FZKBOKMUTVV7A'],
    ['github', GITHUB],
    ['github', `gho_${'a'.repeat(36)}`],
    ['github', `ghu_${'b'.repeat(36)}`],
    ['github', `ghs_${'c'.repeat(36)}`],
    ['github', `ghr_${'d'.repeat(36)}`],
    ['github', GITHUB_PAT],
  ])('finds %s key %s', (type, secret) => {
    expect(findSecrets(`token: "${secret}"\n`)).toEqual([{ type, secondary: true, secret, index: 8 }]);
  });

  it.each([
    ['legacy OpenAI key one character short', `sk-${'a'.repeat(47)}`],
    ['legacy OpenAI key one character long', `sk-${'a'.repeat(49)}`],
    ['OpenAI project key glued to a word', `xsk-proj-${'a'.repeat(60)}`],
    ['Anthropic key without the AA tail', `sk-ant-api03-${'x'.repeat(95)}`],
    ['AWS id one character short', 'AKIAIOSFODNN7EXAMPL'],
    ['AWS id inside a longer word', 'AKIAIOSFODNN7EXAMPLEX'],
    ['AWS id after a letter', 'XAKIAIOSFODNN7EXAMPLE'],
    ['GitHub token one character short', `ghp_${'a'.repeat(35)}`],
    ['GitHub token with an unknown prefix', `ghx_${'a'.repeat(36)}`],
    ['fine-grained PAT too short', `github_pat_${'a'.repeat(81)}`],
  ])('ignores a %s', (_what, text) => {
    expect(findSecrets(` ${text} `)).toEqual([]);
  });
});

describe('redactFound', () => {
  it.each([
    ['openai', OPENAI_PROJ, 'sk-proj-…'],
    ['openai', OPENAI_LEGACY, 'sk-…'],
    ['anthropic', ANTHROPIC, 'sk-ant-api03-…'],
    ['aws', AWS, 'AKIA…'],
    ['github', GITHUB, 'ghp_…'],
    ['github', GITHUB_PAT, 'github_pat_…'],
  ] as const)('shows only the %s prefix and the last four characters', (type, secret, prefix) => {
    expect(redactFound(type, secret)).toBe(prefix + secret.slice(-4));
  });

  it('redacts Tollgate keys like the server does', () => {
    const p = projectKey();
    const a = adminKey();
    expect(redactFound('tollgate', p)).toBe(`sk-tg-…${p.slice(-4)}`);
    expect(redactFound('tollgate', a)).toBe(`sk-tg-admin-…${a.slice(-4)}`);
  });
});

describe('redactSecretsInText', () => {
  it('redacts every secret in a path, of every format, and leaves the rest as it is', () => {
    const [p, a] = [projectKey(), adminKey()];
    expect(redactSecretsInText(`/tmp/${p}/x-${a}.json ${AWS}`)).toBe(`/tmp/sk-tg-…${p.slice(-4)}/x-sk-tg-admin-…${a.slice(-4)}.json AKIA…${AWS.slice(-4)}`);
    expect(redactSecretsInText(`sk-proj-${'x'.repeat(44)}AbCd-${p}`)).toBe(`sk-proj-…AbCd-sk-tg-…${p.slice(-4)}`);
    expect(redactSecretsInText('src/app.ts')).toBe('src/app.ts');
  });
});
