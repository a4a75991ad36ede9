import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('reads the usage group window (TOLLGATE_USAGE_GROUP_MS, 5 ms by default) and refuses a bad one', () => {
    expect(loadConfig({}).usageGroupMs).toBe(5);
    expect(loadConfig({ TOLLGATE_USAGE_GROUP_MS: '20' }).usageGroupMs).toBe(20);
    expect(() => loadConfig({ TOLLGATE_USAGE_GROUP_MS: '-1' })).toThrow(/TOLLGATE_USAGE_GROUP_MS/);
  });

  it('reads TOLLGATE_USAGE_RETENTION_DAYS (35 by default, or forever) and refuses anything else, readably', () => {
    expect(loadConfig({}).usageRetentionDays).toBe(35);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '' }).usageRetentionDays).toBe(35);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '1' }).usageRetentionDays).toBe(1);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '400' }).usageRetentionDays).toBe(400);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: '36500' }).usageRetentionDays).toBe(36_500);
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: 'forever' }).usageRetentionDays).toBeNull();
    expect(loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: ' Forever ' }).usageRetentionDays).toBeNull();
    for (const bad of ['0', '-1', '1.5', '1e3', '0x10', '36501', 'never', '35 days', 'Infinity']) {
      expect(() => loadConfig({ TOLLGATE_USAGE_RETENTION_DAYS: bad }), bad).toThrow(
        /Invalid configuration:\n {2}TOLLGATE_USAGE_RETENTION_DAYS: expected a whole number of days from 1 to 36500, or "forever"/,
      );
    }
  });

  it('takes TOLLGATE_SETUP_TOKEN when it is 20 to 256 printable characters, and never echoes a refused one', () => {
    expect(loadConfig({}).setupToken).toBeUndefined();
    expect(loadConfig({ TOLLGATE_SETUP_TOKEN: '' }).setupToken).toBeUndefined();
    const token = 'install-7Qm2-rP9x-Lk4z-Wt8c';
    expect(loadConfig({ TOLLGATE_SETUP_TOKEN: token }).setupToken).toBe(token);
    for (const bad of ['short-but-secret', 'has a space in it somewhere', `x${'y'.repeat(256)}`, 'control\u0007characters-here-1234']) {
      let message = '';
      try {
        loadConfig({ TOLLGATE_SETUP_TOKEN: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/TOLLGATE_SETUP_TOKEN must be 20 to 256 printable ASCII characters/);
      expect(message).not.toContain(bad);
    }
  });

  it('takes TOLLGATE_TRUST_PROXY as addresses, CIDR ranges and proxy-addr presets under the allowlist rules', () => {
    expect(loadConfig({ TOLLGATE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8, ::1, loopback, uniquelocal' }).trustProxy).toBe('127.0.0.1, 10.0.0.0/8, ::1, loopback, uniquelocal');
    for (const bad of ['010.0.0.1', '127.1', '10.0.0.1/8', 'localhost', '10.0.0.0/255.0.0.0', '127.0.0.1,', '::0.0.0.0/96', '::127.0.0.1']) {
      expect(() => loadConfig({ TOLLGATE_TRUST_PROXY: bad }), bad).toThrow(/TOLLGATE_TRUST_PROXY: "/);
      expect(() => loadConfig({ TOLLGATE_TRUST_PROXY: bad }), bad).not.toThrow(/TOLLGATE_TRUST_PROXY: TOLLGATE_TRUST_PROXY/);
    }
    // Every address: it passed here, then proxy-addr threw at start with a stack trace (found by review).
    for (const all of ['0.0.0.0/0', '::/0', '10.0.0.0/8, 0.0.0.0/0', '::ffff:0.0.0.0/96']) {
      expect(() => loadConfig({ TOLLGATE_TRUST_PROXY: all }), all).toThrow(/TOLLGATE_TRUST_PROXY: "[^"]*" would trust every address as a proxy/);
      // The setting's name once (the refusal repeated it: "TOLLGATE_TRUST_PROXY: TOLLGATE_TRUST_PROXY: …").
      expect(() => loadConfig({ TOLLGATE_TRUST_PROXY: all }), all).not.toThrow(/TOLLGATE_TRUST_PROXY: TOLLGATE_TRUST_PROXY/);
    }
  });

  /** The message of what loadConfig throws for `env` ('' when it loads). */
  const refusal = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };

  it('reads whole-number variables as decimal digits only, each within its range, naming the variable', () => {
    expect(loadConfig({ PORT: '8080' }).port).toBe(8080);
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535);
    expect(loadConfig({ PORT: '' }).port).toBe(8484);
    for (const bad of [' ', '0x10', '1e3', '80.0', '-1', '+80', '65536', '70000', 'Infinity', '8_080']) {
      expect(refusal({ PORT: bad }), JSON.stringify(bad)).toMatch(/Invalid configuration:\n {2}PORT: expected a whole number from 0 to 65535/);
    }
    for (const name of ['TOLLGATE_BODY_LIMIT', 'TOLLGATE_DEFAULT_MAX_TOKENS', 'TOLLGATE_USAGE_FLUSH_MS', 'TOLLGATE_KEY_CACHE_SIZE', 'TOLLGATE_CHANGE_POLL_MS', 'TOLLGATE_BODY_IDLE_TIMEOUT_MS', 'TOLLGATE_USAGE_MAX_IN_MEMORY', 'TOLLGATE_ANOMALY_RATE_FACTOR']) {
      expect(refusal({ [name]: '0' }), name).toMatch(new RegExp(`${name}: expected a whole number from 1 to `));
      expect(refusal({ [name]: '0x10' }), name).toMatch(new RegExp(`${name}: expected a whole number`));
    }
    // A timer past 2^31-1 ms fires at once (Node's TimeoutOverflowWarning): refused rather than cut to 1 ms.
    expect(refusal({ TOLLGATE_USAGE_FLUSH_MS: '2147483648' })).toMatch(/TOLLGATE_USAGE_FLUSH_MS: expected a whole number from 1 to 2147483647/);
    // 0 where it means something: never cut a stalled client, no grace, no grouping, no floor, no warm-up.
    expect(loadConfig({ TOLLGATE_CLIENT_STALL_TIMEOUT_MS: '0' }).clientStallTimeoutMs).toBe(0);
    expect(loadConfig({ TOLLGATE_SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ TOLLGATE_USAGE_GROUP_MS: '0' }).usageGroupMs).toBe(0);
    expect(loadConfig({ TOLLGATE_ANOMALY_MIN_RATE: '0', TOLLGATE_ANOMALY_WARMUP_MINUTES: '0' }).anomaly).toMatchObject({ minRate: 0, warmupMinutes: 0 });
    expect(loadConfig({ TOLLGATE_BODY_LIMIT: '1048576' }).bodyLimit).toBe(1_048_576);
  });

  it('checks OPENAI_BASE_URL and ANTHROPIC_BASE_URL as a base_url in the file, naming the variable and never showing it', () => {
    expect(loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }).openaiBaseUrl).toBe('http://127.0.0.1:9/v1');
    for (const name of ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL']) {
      const cases: Array<[string, RegExp]> = [
        ['https://user:sk-in-url-secret@api.example.com/v1', /must not hold a user or password/],
        ['https://api.example.com/v1?api-key=sk-query-secret', /must not have a query string/],
        ['https://api.example.com/v1#sk-fragment-secret', /must not have a fragment/],
        ['api.example.com/sk-no-scheme-secret', /must be a URL/],
        ['ftp://api.example.com/sk-ftp-secret', /must be an http\(s\) URL/],
      ];
      for (const [value, problem] of cases) {
        const message = refusal({ [name]: value, OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-a' });
        expect(message, value).toMatch(new RegExp(`Invalid configuration:\\n {2}${name}: `));
        expect(message, value).toMatch(problem);
        expect(message, value).not.toMatch(/secret/);
      }
    }
  });

  it('reads an empty base URL as unset, and checks one only when its key is set (nothing else reads it)', () => {
    expect(loadConfig({ OPENAI_BASE_URL: '', ANTHROPIC_BASE_URL: ' ', OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-a' })).toMatchObject({
      openaiBaseUrl: 'https://api.openai.com/v1',
      anthropicBaseUrl: 'https://api.anthropic.com/v1',
    });
    const azureStyle = 'https://x.openai.azure.com/openai?api-version=2024-02-01';
    expect(loadConfig({ OPENAI_BASE_URL: azureStyle }).openaiBaseUrl).toBe(azureStyle);
    expect(refusal({ OPENAI_BASE_URL: azureStyle, OPENAI_API_KEY: 'sk-o' })).toMatch(/OPENAI_BASE_URL: must not have a query string/);
  });

  it('warns of a TOLLGATE_ variable it does not know, naming the closest one it does, and nothing else', () => {
    expect(loadConfig({ TOLLGATE_BUDGET_FAILUR: 'open' }).warnings).toEqual([
      'TOLLGATE_BUDGET_FAILUR is not a Tollgate setting and is ignored: did you mean TOLLGATE_BUDGET_FAILURE?',
    ]);
    expect(loadConfig({ TOLLGATE_BODYLIMIT: '5', TOLLGATE_WHATEVER_ELSE_ENTIRELY: 'x' }).warnings).toEqual([
      'TOLLGATE_BODYLIMIT is not a Tollgate setting and is ignored: did you mean TOLLGATE_BODY_LIMIT?',
      'TOLLGATE_WHATEVER_ELSE_ENTIRELY is not a Tollgate setting and is ignored',
    ]);
    // The CLI's, the README's client key, the test harness's, and other programs' variables are not warned of.
    expect(loadConfig({ TOLLGATE_URL: 'http://x', TOLLGATE_ADMIN_KEY: 'k', TOLLGATE_CLI_TIMEOUT_MS: '5000', TOLLGATE_KEY: 'k', TOLLGATE_TEST_SHIFTS: '1', PATH: '/bin', PORT: '1' }).warnings).toEqual([]);
    expect(JSON.stringify(loadConfig({ TOLLGATE_SECRT: 'a-secret-value-that-must-not-show-up' }).warnings)).not.toContain('must-not-show-up');
  });
  it('reads an empty TOLLGATE_SECRET as unset (generated into the data dir), and refuses a short one', () => {
    expect(loadConfig({ TOLLGATE_SECRET: '' }).secret).toBeUndefined();
    expect(refusal({ TOLLGATE_SECRET: 'too-short' })).toMatch(/TOLLGATE_SECRET must be at least 32 characters/);
    expect(loadConfig({ TOLLGATE_SECRET: 'x'.repeat(32) }).secret).toBe('x'.repeat(32));
  });

  it('reads an empty or blank HOST and TOLLGATE_DATA_DIR as unset (127.0.0.1, ./data), never as every interface', () => {
    for (const blank of ['', ' ', '\t']) {
      expect(loadConfig({ HOST: blank }).host, JSON.stringify(blank)).toBe('127.0.0.1');
      expect(loadConfig({ TOLLGATE_DATA_DIR: blank }).dataDir, JSON.stringify(blank)).toBe('./data');
    }
    expect(loadConfig({ HOST: '0.0.0.0', TOLLGATE_DATA_DIR: '/var/lib/tollgate' })).toMatchObject({ host: '0.0.0.0', dataDir: '/var/lib/tollgate' });
  });

  it('refuses a DATABASE_URL of another scheme, or a postgres URL that cannot be read, naming it and never showing it', () => {
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    for (const good of ['postgres://u:p@db.example.com:5432/tollgate', 'postgresql://db/tollgate?sslmode=require', 'sqlite:/var/lib/tollgate/t.db', 'sqlite::memory:']) {
      expect(loadConfig({ DATABASE_URL: good }).databaseUrl, good).toBe(good);
    }
    const cases: Array<[string, RegExp]> = [
      ['mysql://root:hunter2secret@db/tollgate', /DATABASE_URL: must start with postgres:\/\/ or postgresql:\/\/ \(or sqlite:PATH\)/],
      ['Postgres://root:hunter2secret@db/x', /DATABASE_URL: must start with postgres:\/\//],
      ['sqlite:', /DATABASE_URL: sqlite:PATH names a file/],
      ['postgres://root:hunter2secret@db:99999/x', /DATABASE_URL: not a URL that can be read \(the value is not shown: it may hold a password\)/],
      ['postgres://root:hunter2 secret@[db/x', /DATABASE_URL: not a URL that can be read/],
    ];
    for (const [value, problem] of cases) {
      const message = refusal({ DATABASE_URL: value });
      expect(message, value).toMatch(/^Invalid configuration:\n/);
      expect(message, value).toMatch(problem);
      expect(message, value).not.toContain('hunter2');
    }
  });

  it('refuses OPENAI_API_KEY or ANTHROPIC_API_KEY with characters a key cannot have, naming the variable, never the key', () => {
    for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) {
      expect(loadConfig({ [name]: '' }).gateway.providers, name).toEqual([]);
      for (const value of ['sk-hunter2secret\n', 'sk-hunter2secret\r\n', ' sk-hunter2secret', ' ', 'sk-hunter2 secret']) {
        const message = refusal({ [name]: value });
        expect(message, JSON.stringify(value)).toMatch(new RegExp(`Invalid configuration:\\n {2}${name}: holds characters a key cannot have \\(a trailing newline\\?\\)`));
        expect(message).not.toContain('hunter2');
      }
    }
  });

  it('checks REDIS_URL (redis:// or rediss://, a host, a port from 1 to 65535), never showing a refused one', () => {
    // Found by review: one that did not parse failed the start with an error carrying it whole into the log.
    for (const ok of ['redis://127.0.0.1:6379', 'rediss://default:Pa55%23word@cache.example.com:6380/2', 'redis://cache', 'redis://:pw@[::1]:6379', '/run/redis.sock']) {
      expect(loadConfig({ REDIS_URL: ok }).redisUrl, ok).toBe(ok);
    }
    expect(loadConfig({ REDIS_URL: '' }).redisUrl).toBeUndefined();
    const cases: Array<[string, RegExp]> = [
      ['redis://default:Pw-secret#x@cache:6379', /must be percent-encoded, e\.g\. %23 for #/],
      ['redis://default:Pw-secret/x@cache:6379', /must be percent-encoded/],
      ['redis://default:Pw-secret?x@cache:6379', /must be percent-encoded/],
      // Digits before the '#', '/' or '?': it parses, as host "default" and a port.
      ['redis://default:1234#Pw-secret@cache:6379', /must be percent-encoded/],
      ['redis://default:1234/Pw-secret@cache:6379', /must be percent-encoded/],
      ['redis://default:1234?Pw-secret@cache:6379', /must be percent-encoded/],
      ['redis://default:Pw-secret@cache:99999', /port from 1 to 65535/],
      ['redis://default:Pw-secret@cache:0', /port outside 1 to 65535/],
      ['http://default:Pw-secret@cache:6379', /must start with redis:\/\/ or rediss:\/\//],
      ['redis:///Pw-secret', /names no host|must be percent-encoded/],
      ['cache:6379/Pw-secret', /must start with redis:\/\/ or rediss:\/\//],
    ];
    for (const [value, problem] of cases) {
      const message = refusal({ REDIS_URL: value });
      expect(message, value).toMatch(/Invalid configuration:\n {2}REDIS_URL: /);
      expect(message, value).toMatch(problem);
      expect(message, value).toMatch(/the value is not shown/);
      expect(message, value).not.toMatch(/secret/);
    }
  });
});
