import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

// A config the gateway would act on differently from what it says is refused at start, naming the field, never
// echoing a secret: nothing is silently ignored or decided last-wins (found by an outside review of configuration).

const dir = mkdtempSync(join(tmpdir(), 'tollgate-gwref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const SECRET = 'sk-proj-REALSECRETKEY0123456789abcdef';
const loadText = (text: string, ext = 'json', env: Record<string, string> = {}) => {
  const path = join(dir, `c${n++}.${ext}`);
  writeFileSync(path, text);
  return loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: SECRET, UP_KEY_2: 'sk-y', ...env }).gateway;
};
const load = (file: unknown, env: Record<string, string> = {}) => loadText(JSON.stringify(file), 'json', env);
const P = (extra: Record<string, unknown> = {}) => ({ name: 'up', base_url: 'https://api.example.com/v1', api_key_env: 'UP_KEY', ...extra });
/** The message of what `f` throws ('' when it does not). */
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
};

describe('provider names', () => {
  it('refuses two providers of one name, or of names that differ only in case, naming both', () => {
    expect(refusal(() => load({ providers: [P(), P({ base_url: 'https://b.example.com/v1' })] }))).toMatch(/providers\.1\.name: provider up is already named by providers\.0/);
    expect(refusal(() => load({ providers: [P(), P({ name: 'UP' })] }))).toMatch(/providers\.1\.name: provider UP is already named by providers\.0 \(up\)/);
    expect(load({ providers: [P(), P({ name: 'up-2' })] }).providers.map((p) => p.name)).toEqual(['up', 'up-2']);
  });
});

describe('provider keys', () => {
  it('refuses an empty api_key_env rather than sending no key', () => {
    expect(refusal(() => load({ providers: [P({ api_key_env: '' })] }))).toMatch(/providers\.0\.api_key_env: must name an environment variable/);
    expect(refusal(() => load({ providers: [P({ api_key_env: undefined, credentials: [{ api_key_env: '' }] })] }))).toMatch(/credentials\.0\.api_key_env: must name an environment variable/);
  });

  it('refuses an api_key_env that is not a variable name, without echoing it (a key typed in its place)', () => {
    for (const value of [SECRET, 'MY KEY', '1KEY', 'KEY-2', '$OPENAI_API_KEY']) {
      const message = refusal(() => load({ providers: [P({ api_key_env: value })] }));
      expect(message, value).toMatch(/providers\.0\.api_key_env: must name an environment variable \(letters, digits and _\), not hold the key/);
      expect(message, value).not.toContain(value);
      const pooled = refusal(() => load({ providers: [P({ api_key_env: undefined, credentials: [{ api_key_env: value }] })] }));
      expect(pooled, value).toMatch(/credentials\.0\.api_key_env: must name an environment variable/);
      expect(pooled, value).not.toContain(value);
    }
    expect(load({ providers: [P({ api_key_env: '_My_Key2' })] }, { _My_Key2: 'sk-z' }).providers[0].apiKey).toBe('sk-z');
  });

  it('refuses an auth that sends a key on a provider given none, and takes none without a key', () => {
    for (const auth of ['bearer', 'api-key', 'x-api-key']) {
      expect(refusal(() => load({ providers: [P({ api_key_env: undefined, auth })] })), auth).toMatch(new RegExp(`provider up: auth ${auth} sends a key: give api_key_env or credentials \\(or auth: none\\)`));
    }
    expect(load({ providers: [P({ api_key_env: undefined })] }).providers[0].auth).toBe('none');
    expect(load({ providers: [P({ api_key_env: undefined, auth: 'none' })] }).providers[0].auth).toBe('none');
  });
});

describe('routes and aliases', () => {
  const two = { providers: [P(), P({ name: 'mini', api_key_env: 'UP_KEY_2' })] };

  it('refuses a route pattern with * anywhere but at its end, and an empty one', () => {
    for (const pattern of ['gpt-*-mini', '*-mini', 'gpt-**', '*a*']) {
      expect(refusal(() => load({ ...two, routes: { [pattern]: 'mini' } })), pattern).toMatch(/routes\..*: a pattern is a model name or a prefix ending in a single \*/);
    }
    expect(refusal(() => load({ ...two, routes: { '': 'mini' } }))).toMatch(/routes: a pattern is a model name or a prefix/);
    expect(load({ ...two, routes: { 'gpt-4o*': 'mini', '*': 'up', 'gpt-4o': 'up' } }).routes.map((r) => r.pattern)).toEqual(['gpt-4o*', '*', 'gpt-4o']);
  });

  it('refuses an alias that is empty, names a pattern, names itself, or names another alias (aliases resolve once)', () => {
    expect(refusal(() => load({ ...two, aliases: { a: 'gpt-*' } }))).toMatch(/aliases\.a: an alias names a model, not a pattern/);
    expect(refusal(() => load({ ...two, aliases: { '': 'gpt-4o' } }))).toMatch(/aliases: an alias is a model name/);
    expect(refusal(() => load({ ...two, aliases: { a: '' } }))).toMatch(/aliases\.a: an alias names a model/);
    expect(refusal(() => load({ ...two, aliases: { a: 'a' } }))).toMatch(/aliases\.a: names itself/);
    expect(refusal(() => load({ ...two, aliases: { a: 'b', b: 'gpt-4o' } }))).toMatch(/aliases\.a: names b, itself an alias \(aliases are resolved once\)/);
    expect(refusal(() => load({ ...two, aliases: { a: 'b', b: 'a' } }))).toMatch(/aliases\.a: names b, itself an alias/);
    expect(load({ ...two, aliases: { fast: 'gpt-4o-mini', smart: 'gpt-4o' } }).aliases).toEqual({ fast: 'gpt-4o-mini', smart: 'gpt-4o' });
  });
});
