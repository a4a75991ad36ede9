import { generateKeyPairSync, type KeyObject } from 'node:crypto';
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

describe('provider headers', () => {
  const withHeaders = (headers: Record<string, string>) => load({ providers: [P({ headers })] });

  it('takes header names that are tokens and values of visible characters, spaces and tabs', () => {
    expect(withHeaders({ 'X-Team': 'mobile app', 'HTTP-Referer': 'https://example.com/a?b=c', 'x-empty': '' }).providers[0].headers).toEqual({ 'X-Team': 'mobile app', 'HTTP-Referer': 'https://example.com/a?b=c', 'x-empty': '' });
  });

  it('refuses a value with CR, LF, NUL or other control characters, without echoing it', () => {
    for (const value of ['a\r\nx-injected: 1', 'a\nb', 'a\rb', 'a\u0000b', 'a\u0007b', 'caf\u00e9']) {
      const message = refusal(() => withHeaders({ 'x-team': value }));
      expect(message, JSON.stringify(value)).toMatch(/providers\.0\.headers\.x-team: a header value is visible ASCII characters, spaces and tabs/);
      expect(message).not.toContain(value);
    }
  });

  it('refuses a name that is not a token (RFC 9110), without echoing it', () => {
    for (const name of ['bad name', 'x-a:', '', 'x\r\ny', 'é']) {
      const message = refusal(() => withHeaders({ [name]: 'v' }));
      expect(message, JSON.stringify(name)).toMatch(/providers\.0\.headers: a header name is a token \(letters, digits and !#\$%&'\*\+-\.\^_`\|~\)/);
    }
  });

  it('refuses the headers Tollgate sets itself, and the key headers (the key goes in api_key_env), in any case', () => {
    for (const name of ['Host', 'content-length', 'Transfer-Encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'content-type']) {
      expect(refusal(() => withHeaders({ [name]: 'x' })), name).toMatch(new RegExp(`providers\\.0\\.headers\\.${name}: Tollgate sets ${name.toLowerCase()} itself`));
    }
    for (const name of ['Authorization', 'api-key', 'X-Api-Key', 'Proxy-Authorization']) {
      const message = refusal(() => withHeaders({ [name]: `Bearer ${SECRET}` }));
      expect(message, name).toMatch(new RegExp(`providers\\.0\\.headers\\.${name}: the provider's key is sent by auth from api_key_env or credentials, never written in the file`));
      expect(message).not.toContain(SECRET);
    }
  });

  it('refuses one header named twice in different cases (only one would be sent)', () => {
    expect(refusal(() => withHeaders({ 'X-Team': 'a', 'x-team': 'b' }))).toMatch(/providers\.0\.headers\.x-team: named twice \(X-Team\); header names are compared ignoring case/);
  });
});

describe('a JSON file naming a member twice', () => {
  it('is refused, naming the member, as YAML is (JSON.parse would keep the last)', () => {
    const text = `{"providers":[{"name":"up","base_url":"https://api.example.com/v1","api_key_env":"UP_KEY","api_key_env":"UP_KEY_2"}]}`;
    expect(refusal(() => loadText(text))).toMatch(/c\d+\.json: providers\.0\.api_key_env: named more than once \(JSON readers differ on which one counts\)/);
    expect(refusal(() => loadText(`{"providers":[],"routes":{"a":"up"},"routes":{}}`))).toMatch(/: routes: named more than once/);
    expect(refusal(() => loadText(`{"aliases":{"fast":"gpt-4o","fa\\u0073t":"gpt-4o-mini"}}`))).toMatch(/: aliases\.fast: named more than once/);
    expect(refusal(() => loadText('providers:\n  - name: up\n    base_url: https://api.example.com/v1\n    api_key_env: UP_KEY\n    api_key_env: UP_KEY_2\n', 'yaml'))).toMatch(/not valid YAML \(Map keys must be unique/);
  });

  it('is not confused by a repeated name in different objects', () => {
    expect(loadText(`{"providers":[{"name":"up","base_url":"https://a.example.com/v1","api_key_env":"UP_KEY"},{"name":"up-2","base_url":"https://b.example.com/v1","api_key_env":"UP_KEY_2"}]}`).providers).toHaveLength(2);
  });

  it('a file that is not JSON is refused naming the file and where, without echoing its text', () => {
    const message = refusal(() => loadText(`{"providers": [{"name": "up", "base_url": ${SECRET}}]}`));
    expect(message).toMatch(/c\d+\.json: not valid JSON/);
    expect(message).not.toContain(SECRET);
  });
});

describe('a YAML file that cannot be read', () => {
  it('is refused naming the file, the line and why, without echoing its text', () => {
    const message = refusal(() => loadText(`providers:\n  - name: up\n    api_key_env: UP_KEY\n    api_key_env: ${SECRET}\n`, 'yaml'));
    expect(message).toMatch(/c\d+\.yaml: not valid YAML \(Map keys must be unique at line 4, column 5\)/);
    expect(message).not.toContain(SECRET);
  });
});

describe('pass-through paths', () => {
  it('takes canonical paths under /v1, none by default', () => {
    expect(load({ providers: [P()] }).passThroughPaths).toEqual([]);
    expect(load({ providers: [P()], pass_through_paths: ['/v1/fim/completions', '/v1/rerank'] }).passThroughPaths).toEqual(['/v1/fim/completions', '/v1/rerank']);
  });

  it('refuses a path in a spelling no request reaches, outside /v1, or one Tollgate never forwards', () => {
    for (const path of ['fim', '/fim', '/v1', '/v1/', '/v1/fim/', '/v1//fim', '/v1/./fim', '/v1/../fim', '/v1/fim.', '/v1/f%2Fim', '/v1/f im', '/V1/fim']) {
      expect(refusal(() => load({ providers: [P()], pass_through_paths: [path] })), path).toMatch(/pass_through_paths\.0: a pass-through path/);
    }
    for (const path of ['/v1/organization', '/v1/organization/projects', '/v1/secret-scanning/reports', '/v1/projects/proj_1/roles']) {
      expect(refusal(() => load({ providers: [P()], pass_through_paths: [path] })), path).toMatch(/pass_through_paths\.0: \/v1\/[a-z-]+ is never forwarded/);
    }
    for (const path of ['/v1/fine_tuning/checkpoints', '/v1/fine_tuning/checkpoints/ft:x/permissions']) {
      expect(refusal(() => load({ providers: [P()], pass_through_paths: [path] })), path).toMatch(/pass_through_paths\.0: \/v1\/fine_tuning\/checkpoints is never forwarded/);
    }
    expect(load({ providers: [P()], pass_through_paths: ['/v1/fine_tuning/checkpointsx'] }).passThroughPaths).toEqual(['/v1/fine_tuning/checkpointsx']);
  });
});

describe('timeouts', () => {
  // Past 2^31-1 ms a Node timer fires at once (TimeoutOverflowWarning): first_byte_ms 3000000000 answered 504 after ~30 ms
  // while the upstream call went on, billed (found by review).
  it('refuses a timeout past the longest Node timer, top-level and per provider, naming the member', () => {
    for (const member of ['connect_ms', 'first_byte_ms', 'total_ms']) {
      for (const bad of [2 ** 31, 3_000_000_000]) {
        expect(refusal(() => load({ providers: [P()], timeouts: { [member]: bad } })), member).toMatch(
          new RegExp(`: timeouts\\.${member}: milliseconds at most 2147483647 \\(Node's longest timer\\)`),
        );
        expect(refusal(() => load({ providers: [P({ timeouts: { [member]: bad } })] })), member).toMatch(
          new RegExp(`: providers\\.0\\.timeouts\\.${member}: milliseconds at most 2147483647 \\(Node's longest timer\\)`),
        );
      }
    }
    const max = 2 ** 31 - 1;
    const gateway = load({ providers: [P({ timeouts: { first_byte_ms: max } })], timeouts: { connect_ms: max, total_ms: max } });
    expect(gateway.providers[0].timeouts).toEqual({ connectMs: max, firstByteMs: max, totalMs: max });
  });
});

describe('provider keys a header cannot carry', () => {
  it('refuses a key with a trailing newline, a space or nothing but whitespace, naming the variable and never the key', () => {
    for (const value of [`${SECRET}\n`, `${SECRET}\r\n`, `${SECRET} `, ` ${SECRET}`, 'sk-a b', ' ', '\n', 'sk-caf\u00e9']) {
      const single = refusal(() => load({ providers: [P()] }, { UP_KEY: value }));
      expect(single, JSON.stringify(value)).toMatch(/provider up: environment variable UP_KEY holds characters a key cannot have \(a trailing newline\?\)/);
      expect(single).not.toContain(SECRET);
      const pooled = refusal(() => load({ providers: [P({ api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY_2' }, { api_key_env: 'UP_KEY' }] })] }, { UP_KEY: value }));
      expect(pooled, JSON.stringify(value)).toMatch(/provider up: environment variable UP_KEY holds characters a key cannot have/);
      expect(pooled).not.toContain(SECRET);
    }
  });
});

describe('secret-scanning reporters', () => {
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
  const R = (public_key: string, key_id = 'kid-1') => ({ name: 'codehost', key_id, public_key });

  it('takes an ECDSA public key in PEM (SPKI), or another that checks a SHA-256 signature (RSA)', () => {
    const key = pem(ec().publicKey);
    expect(load({ secret_scanning: { reporters: [R(key)] } }).reporters).toEqual([{ name: 'codehost', keyId: 'kid-1', publicKey: key }]);
    const rsa = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
    expect(load({ secret_scanning: { reporters: [R(rsa)] } }).reporters[0].publicKey).toBe(rsa);
  });

  it('refuses a key that is not a PEM public key, a folded one, a private one, or one that cannot check a signature, naming the member', () => {
    const pair = ec();
    const folded = pem(pair.publicKey).replace(/\n/g, ' ');
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ed = pem(generateKeyPairSync('ed25519').publicKey);
    const x = pem(generateKeyPairSync('x25519').publicKey);
    for (const [value, why] of [
      ['not a pem', /not a PEM \(SPKI\) public key/],
      [folded, /not a PEM \(SPKI\) public key/],
      [privatePem, /a private key: give the reporter's public key/],
      [ed, /an ed25519 key, which cannot check the reports' signatures \(ECDSA with SHA-256\)/],
      [x, /an x25519 key, which cannot check the reports' signatures/],
    ] as const) {
      const message = refusal(() => load({ secret_scanning: { reporters: [R(pem(ec().publicKey), 'kid-0'), R(value)] } }));
      expect(message, value).toMatch(/: secret_scanning\.reporters\.1\.public_key: /);
      expect(message, value).toMatch(why);
      expect(message).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses two reporters of one key_id (only the first would be tried)', () => {
    expect(refusal(() => load({ secret_scanning: { reporters: [R(pem(ec().publicKey)), R(pem(ec().publicKey))] } }))).toMatch(
      /: secret_scanning\.reporters\.1\.key_id: kid-1 is already the key_id of reporters\.0/,
    );
  });
});

describe('YAML a config file cannot use', () => {
  it('refuses merge keys (<<), saying they are not supported', () => {
    const text = `base: &b\n  base_url: https://api.example.com/v1\nproviders:\n  - name: up\n    <<: *b\n    api_key_env: UP_KEY\n`;
    expect(refusal(() => loadText(text, 'yaml'))).toMatch(/c\d+\.yaml: merge keys \(<<\) are not supported \(line 5, column 5\): write each member out/);
    // A quoted "<<" is a plain key, refused as any unknown member is.
    expect(refusal(() => loadText(`providers:\n  - name: up\n    base_url: https://api.example.com/v1\n    "<<": x\n`, 'yaml'))).toMatch(/providers\.0: Unrecognized key/);
  });

  it('refuses a tag it does not know rather than reading the text as a string, without echoing the value', () => {
    for (const tag of ['!!js/function', '!foo', '!!python/object']) {
      const message = refusal(() => loadText(`providers:\n  - name: up\n    base_url: https://api.example.com/v1\n    api_key_env: ${tag} ${SECRET}\n`, 'yaml'));
      expect(message, tag).toMatch(/c\d+\.yaml: not valid YAML \(Unresolved tag: .* at line 4, column 18\)/);
      expect(message).not.toContain(SECRET);
    }
  });
});

describe('OPENAI_API_KEY or ANTHROPIC_API_KEY beside a provider of that name in the file', () => {
  const warningsOf = (file: unknown, env: Record<string, string>) => {
    const path = join(dir, `c${n++}.json`);
    writeFileSync(path, JSON.stringify(file));
    return loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: SECRET, ...env }).warnings;
  };

  it('warns at start that the variable is not used, saying what the provider sends instead, never the key', () => {
    const keyless = warningsOf({ providers: [P({ name: 'OpenAI', api_key_env: undefined })] }, { OPENAI_API_KEY: 'sk-env-openai-key' });
    expect(keyless).toEqual([
      "OPENAI_API_KEY is set but not used: the config file's provider OpenAI is given no key and sends none (give it api_key_env: OPENAI_API_KEY to use it)",
    ]);
    const other = warningsOf({ providers: [P({ name: 'anthropic', kind: 'anthropic' })] }, { ANTHROPIC_API_KEY: 'sk-env-anthropic-key' });
    expect(other).toEqual([
      "ANTHROPIC_API_KEY is set but not used: the config file's provider anthropic takes its key from UP_KEY (give it api_key_env: ANTHROPIC_API_KEY to use it)",
    ]);
    expect(JSON.stringify([...keyless, ...other])).not.toMatch(/sk-env|REALSECRET/);
  });

  it('says nothing when the provider reads the variable, or no provider takes its name', () => {
    expect(warningsOf({ providers: [P({ name: 'openai', api_key_env: 'OPENAI_API_KEY' })] }, { OPENAI_API_KEY: 'sk-o' })).toEqual([]);
    expect(warningsOf({ providers: [P({ name: 'openai', api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY' }, { api_key_env: 'OPENAI_API_KEY' }] })] }, { OPENAI_API_KEY: 'sk-o' })).toEqual([]);
    expect(warningsOf({ providers: [P()] }, { OPENAI_API_KEY: 'sk-o' })).toEqual([]);
    expect(warningsOf({ providers: [P({ name: 'openai', api_key_env: undefined })] }, {})).toEqual([]);
  });
});
