import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-gwcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (file: unknown) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(file));
  return loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: 'sk-x', UP_KEY_2: 'sk-y' }).gateway;
};
const provider = (extra: Record<string, unknown>) => ({ providers: [{ name: 'up', base_url: 'https://api.example.com/v1', api_key_env: 'UP_KEY', ...extra }] });

describe('provider projects', () => {
  it('maps Tollgate projects to the provider’s, none by default', () => {
    expect(load(provider({})).providers[0].projects).toEqual({});
    expect(load(provider({ projects: { proj_abc123: 'proj_upstream1' } })).providers[0].projects).toEqual({ proj_abc123: 'proj_upstream1' });
  });

  it('refuses a key that is not a project id and a value that could not be a header', () => {
    expect(() => load(provider({ projects: { 'Mobile app': 'proj_up' } }))).toThrow(/providers.0.projects.Mobile app/);
    expect(() => load(provider({ projects: { proj_abc: 'proj_up\r\nx-injected: 1' } }))).toThrow(/projects.*printable/);
    expect(() => load(provider({ projects: { proj_abc: '' } }))).toThrow(/projects/);
  });
});

describe('configuration as one frozen value', () => {
  it('resolves the provider secret into the gateway config and keeps no copy of the environment', () => {
    const path = join(dir, 'frozen.json');
    writeFileSync(path, JSON.stringify(provider({})));
    const config = loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: 'sk-x', UNRELATED_SECRET: 'sk-other' });
    expect(config.gateway.providers[0].apiKey).toBe('sk-x');
    expect(JSON.stringify(config)).not.toContain('sk-other');
    expect('env' in config).toBe(false);
  });

  it('is deep-frozen: no holder can change a price, a provider or a route another reads', () => {
    const config = loadConfig({ TOLLGATE_DATA_DIR: dir, OPENAI_API_KEY: 'sk-y' });
    expect(Object.isFrozen(config.gateway.providers[0].timeouts)).toBe(true);
    expect(() => {
      (config.gateway.providers[0] as { baseUrl: string }).baseUrl = 'https://evil.example';
    }).toThrow(TypeError);
    const [model] = Object.keys(config.gateway.prices);
    expect(Object.isFrozen(config.gateway.prices[model])).toBe(true);
  });

  it('fails at load, not at first request, when the file names a provider secret that is not set', () => {
    const path = join(dir, 'unset.json');
    writeFileSync(path, JSON.stringify(provider({ api_key_env: 'NOT_SET_ANYWHERE' })));
    expect(() => loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir })).toThrow(/NOT_SET_ANYWHERE is not set/);
  });
});

describe('provider kinds', () => {
  it('openai by default; azure-openai with api-key, api_version and deployments; anthropic with x-api-key and a default anthropic-version', () => {
    expect(load(provider({})).providers[0]).toMatchObject({ kind: 'openai', auth: 'bearer', apiVersion: null, deployments: {} });
    const azure = load(provider({ kind: 'azure-openai', base_url: 'https://res.openai.azure.com', api_version: '2024-10-21', deployments: { 'gpt-4o': 'prod-4o' } })).providers[0];
    expect(azure).toMatchObject({ kind: 'azure-openai', auth: 'api-key', apiVersion: '2024-10-21', deployments: { 'gpt-4o': 'prod-4o' } });
    expect(load(provider({ kind: 'anthropic', base_url: 'https://api.anthropic.com/v1' })).providers[0]).toMatchObject({ kind: 'anthropic', auth: 'x-api-key', apiVersion: '2023-06-01' });
    expect(load(provider({ kind: 'anthropic', api_version: '2024-01-01' })).providers[0].apiVersion).toBe('2024-01-01');
  });

  it('refuses what a kind cannot take, and a kind it does not know', () => {
    expect(() => load(provider({ kind: 'azure-openai' }))).toThrow(/needs api_version/);
    expect(() => load(provider({ deployments: { a: 'b' } }))).toThrow(/deployments are for azure-openai/);
    // A deployment of `.` or `..` would be a dot segment of its path (/openai/deployments/../…), not a name.
    for (const name of ['.', '..']) {
      expect(() => load(provider({ kind: 'azure-openai', api_version: '2024-10-21', deployments: { 'gpt-4o': name } }))).toThrow(/deployment name/);
    }
    expect(load(provider({ kind: 'azure-openai', api_version: '2024-10-21', deployments: { 'gpt-4o': '..prod' } })).providers[0].deployments).toEqual({ 'gpt-4o': '..prod' });
    expect(() => load(provider({ kind: 'anthropic', projects: { proj_abc: 'proj_up' } }))).toThrow(/anthropic provider/);
    expect(() => load(provider({ kind: 'bedrock' }))).toThrow(/providers.0.kind/);
    expect(() => load(provider({ kind: 'azure-openai', api_version: '2024 10' }))).toThrow(/api_version/);
  });

  it('ANTHROPIC_API_KEY alone or beside OPENAI_API_KEY: an anthropic provider, and claude-* routed to it', () => {
    const both = loadConfig({ TOLLGATE_DATA_DIR: dir, OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-ant-a' }).gateway;
    expect(both.providers.map((p) => [p.name, p.kind, p.auth, p.baseUrl])).toEqual([
      ['openai', 'openai', 'bearer', 'https://api.openai.com/v1'],
      ['anthropic', 'anthropic', 'x-api-key', 'https://api.anthropic.com/v1'],
    ]);
    expect(both.routes).toEqual([{ pattern: 'claude-*', provider: 'anthropic', fallbacks: [], maxAttempts: 1 }]);
    expect(both.defaultProvider).toBe('openai');
    const alone = loadConfig({ TOLLGATE_DATA_DIR: dir, ANTHROPIC_API_KEY: 'sk-ant-a' }).gateway;
    expect(alone.defaultProvider).toBe('anthropic');
  });
});

describe('several keys for one provider', () => {
  it('reads each from its variable, weight 1 unless given, one attempt per key unless max_attempts says', () => {
    const one = load(provider({})).providers[0];
    expect(one.credentials).toEqual([{ id: 'UP_KEY', apiKey: 'sk-x', weight: 1 }]);
    expect(one.maxAttempts).toBe(1);
    const two = load(provider({ api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY', weight: 3 }, { api_key_env: 'UP_KEY_2' }] })).providers[0];
    expect(two.credentials).toEqual([
      { id: 'UP_KEY', apiKey: 'sk-x', weight: 3 },
      { id: 'UP_KEY_2', apiKey: 'sk-y', weight: 1 },
    ]);
    expect(two).toMatchObject({ apiKey: 'sk-x', auth: 'bearer', maxAttempts: 2 });
    expect(load(provider({ api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY' }, { api_key_env: 'UP_KEY_2' }], max_attempts: 5 })).providers[0].maxAttempts).toBe(5);
  });

  it('takes refusal_cool_down_ms (1 s to 7 days), left to the pool’s default of an hour when unset', () => {
    expect(load(provider({})).providers[0].refusalCoolDownMs).toBeUndefined();
    expect(load(provider({ refusal_cool_down_ms: 600_000 })).providers[0].refusalCoolDownMs).toBe(600_000);
    expect(() => load(provider({ refusal_cool_down_ms: 10 }))).toThrow(/refusal_cool_down_ms/);
    expect(() => load(provider({ refusal_cool_down_ms: 8 * 86_400_000 }))).toThrow(/refusal_cool_down_ms/);
  });

  it('refuses both forms at once, a key listed twice, an unset variable, a weight of 0', () => {
    expect(() => load(provider({ credentials: [{ api_key_env: 'UP_KEY_2' }] }))).toThrow(/not both/);
    expect(() => load(provider({ api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY' }, { api_key_env: 'UP_KEY' }] }))).toThrow(/listed twice/);
    expect(() => load(provider({ api_key_env: undefined, credentials: [{ api_key_env: 'NOT_SET_ANYWHERE' }] }))).toThrow(/NOT_SET_ANYWHERE is not set/);
    expect(() => load(provider({ api_key_env: undefined, credentials: [{ api_key_env: 'UP_KEY', weight: 0 }] }))).toThrow(/weight/);
  });
});

describe('routes with fallbacks', () => {
  const two = (routes: unknown, kind2 = 'openai') => ({
    providers: [
      { name: 'up', base_url: 'https://api.example.com/v1', api_key_env: 'UP_KEY' },
      { name: 'alt', kind: kind2, base_url: 'https://alt.example.com/v1', api_key_env: 'UP_KEY_2' },
    ],
    routes,
  });

  it('takes a provider name as before, or a provider with fallbacks (a provider, a model, or both) and max_attempts', () => {
    expect(load(two({ 'gpt-*': 'up' })).routes).toEqual([{ pattern: 'gpt-*', provider: 'up', fallbacks: [], maxAttempts: 3 }]);
    const r = load(two({ 'gpt-4o': { provider: 'up', fallbacks: [{ provider: 'alt' }, { model: 'gpt-4o-mini' }, { provider: 'alt', model: 'gpt-4.1' }], max_attempts: 2 } })).routes[0];
    expect(r).toEqual({
      pattern: 'gpt-4o',
      provider: 'up',
      fallbacks: [
        { provider: 'alt', model: null },
        { provider: 'up', model: 'gpt-4o-mini' },
        { provider: 'alt', model: 'gpt-4.1' },
      ],
      maxAttempts: 2,
    });
  });

  it('refuses at load an unknown provider, a provider of another API, a pattern for a model, a repeat, an empty fallback', () => {
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ provider: 'nope' }] } }))).toThrow(/fallbacks.0: unknown provider nope/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ provider: 'alt' }] } }, 'anthropic'))).toThrow(/does not speak the API/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ model: 'gpt-*' }] } }))).toThrow(/not a pattern/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ provider: 'up' }] } }))).toThrow(/again/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ provider: 'alt' }, { provider: 'alt' }] } }))).toThrow(/again/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{}] } }))).toThrow(/a provider, a model, or both/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallback: [{ provider: 'alt' }] } }))).toThrow(/routes/);
    expect(() => load(two({ 'gpt-*': { provider: 'up', fallbacks: [{ provider: 'alt' }], max_attempts: 0 } }))).toThrow(/max_attempts/);
  });
});

describe('circuit breaker and attempts', () => {
  it('gives every provider a breaker (5 failures, 30 s) unless it says otherwise or turns it off', () => {
    expect(load(provider({})).providers[0].circuitBreaker).toEqual({ failures: 5, coolOffMs: 30_000 });
    expect(load(provider({ circuit_breaker: { failures: 2 } })).providers[0].circuitBreaker).toEqual({ failures: 2, coolOffMs: 30_000 });
    expect(load(provider({ circuit_breaker: { cool_off_ms: 500 } })).providers[0].circuitBreaker).toEqual({ failures: 5, coolOffMs: 500 });
    expect(load(provider({ circuit_breaker: false })).providers[0].circuitBreaker).toBeNull();
    expect(() => load(provider({ circuit_breaker: true }))).toThrow(/circuit_breaker/);
    expect(() => load(provider({ circuit_breaker: { failures: 0 } }))).toThrow(/circuit_breaker/);
    expect(() => load(provider({ circuit_breaker: { cool_off: 5 } }))).toThrow(/circuit_breaker/);
  });

  it('tries at most three of a provider’s keys per request unless max_attempts says', () => {
    const path = join(dir, 'four.json');
    const credentials = ['K1', 'K2', 'K3', 'K4'].map((api_key_env) => ({ api_key_env }));
    writeFileSync(path, JSON.stringify({ providers: [{ name: 'up', base_url: 'https://api.example.com/v1', credentials }] }));
    const env = { TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, K1: 'a', K2: 'b', K3: 'c', K4: 'd' };
    expect(loadConfig(env).gateway.providers[0].maxAttempts).toBe(3);
    writeFileSync(path, JSON.stringify({ providers: [{ name: 'up', base_url: 'https://api.example.com/v1', credentials, max_attempts: 4 }] }));
    expect(loadConfig(env).gateway.providers[0].maxAttempts).toBe(4);
  });
});

describe("a provider's shows_all_output (its models show all they generate: streams cut at a hang-up)", () => {
  it('takes true (every model of the provider), false or none (the built-in list alone), or a list of names and prefixes', () => {
    expect(load(provider({})).providers[0].showsAllOutput).toBeUndefined();
    expect(load(provider({ shows_all_output: false })).providers[0].showsAllOutput).toBeUndefined();
    expect(load(provider({ shows_all_output: true })).providers[0].showsAllOutput).toBe(true);
    expect(load(provider({ shows_all_output: ['llama-*', 'mistral-small-2503', '*'] })).providers[0].showsAllOutput).toEqual(['llama-*', 'mistral-small-2503', '*']);
  });

  it('refuses another type, an empty list, a pattern that is not a name or a prefix ending in one *, a repeat, a misspelt key', () => {
    for (const bad of ['llama-*', 1, null, { models: ['llama-*'] }, [], [''], ['llama*70b'], ['**'], [3], ['a'.repeat(257)], ['llama-*', 'llama-*']]) {
      expect(() => load(provider({ shows_all_output: bad })), JSON.stringify(bad)).toThrow(/providers\.0\.shows_all_output/);
    }
    expect(() => load(provider({ show_all_output: true }))).toThrow(/Unrecognized key.*show_all_output/);
    expect(() => load(provider({ shows_all_outputs: ['llama-*'] }))).toThrow(/Unrecognized key.*shows_all_outputs/);
  });
});

describe('pricing tiers', () => {
  const priced = (price: unknown) => load({ pricing: { 'my-model': price } });

  it('takes priority and flex rates beside the standard ones, long-context rates too, and keeps the built-in ones', () => {
    const price = { input: 1, output: 4, priority: { input: 2, cached_input: 0.2, output: 8, long_context: { above_input_tokens: 272_000, input: 4 } }, flex: { input: 0.5, output: 2 } };
    expect(priced(price).prices['my-model']).toEqual(price);
    expect(load({}).prices['gpt-5'].priority).toEqual({ input: 2.5, cached_input: 0.25, output: 20 });
    // An override replaces the model's whole entry: its tiers too.
    expect(load({ pricing: { 'gpt-5': { input: 1, output: 2 } } }).prices['gpt-5'].priority).toBeUndefined();
  });

  it('refuses a tier block as strictly as the other price fields', () => {
    expect(() => priced({ input: 1, output: 2, priority: { input: 2 } })).toThrow(/pricing\.my-model\.priority\.output/);
    expect(() => priced({ input: 1, output: 2, priority: { output: 2 } })).toThrow(/pricing\.my-model\.priority\.input/);
    expect(() => priced({ input: 1, output: 2, priority: { input: 2, output: 4, cache_input: 1 } })).toThrow(/pricing\.my-model\.priority/);
    expect(() => priced({ input: 1, output: 2, flex: { input: -1, output: 4 } })).toThrow(/pricing\.my-model\.flex\.input/);
    expect(() => priced({ input: 1, output: 2, flex: { input: '0.5', output: 4 } })).toThrow(/pricing\.my-model\.flex\.input/);
    expect(() => priced({ input: 1, output: 2, priority: { input: 2, output: 4, long_context: { input: 4 } } })).toThrow(/priority\.long_context\.above_input_tokens/);
    expect(() => priced({ input: 1, output: 2, priority: { input: 2, output: 4, long_context: { above_input_tokens: 1, input: 4, audio_input: 1 } } })).toThrow(/priority\.long_context/);
    // A tier's long-context rates have no cache writes (no tier prices them apart); a price's own have.
    expect(() => priced({ input: 1, output: 2, priority: { input: 2, output: 4, long_context: { above_input_tokens: 1, input: 4, cache_write_input: 5 } } })).toThrow(/priority\.long_context/);
    const long = { above_input_tokens: 1, input: 4, cache_write_input: 5, cache_write_1h_input: 8 };
    expect(priced({ input: 1, output: 2, long_context: long }).prices['my-model'].long_context).toEqual(long);
    expect(() => priced({ input: 1, output: 2, long_context: { ...long, audio_input: 1 } })).toThrow(/pricing\.my-model\.long_context/);
    // Tiers Tollgate has no rates for are not price fields (nor OpenAI's other spellings of priority); `fast` is
    // Anthropic's fast mode, a multiple, not a tier's rates.
    for (const tier of ['scale', 'ultrafast', 'fast', 'Priority', 'batch']) {
      expect(() => priced({ input: 1, output: 2, [tier]: { input: 2, output: 4 } }), tier).toThrow(/pricing\.my-model/);
    }
  });
});

describe("a model's largest input and output", () => {
  const priced = (price: unknown) => load({ pricing: { 'my-model': price } });

  it('takes max_input_tokens and max_output_tokens beside the rates, or alone', () => {
    expect(priced({ input: 1, output: 2, max_input_tokens: 32_768, max_output_tokens: 4_096 }).prices['my-model']).toEqual({ input: 1, output: 2, max_input_tokens: 32_768, max_output_tokens: 4_096 });
    expect(priced({ max_input_tokens: 8_192 }).prices['my-model']).toEqual({ max_input_tokens: 8_192 });
  });

  it('refuses one that is not a positive whole number of tokens, or misspelt', () => {
    for (const bad of [0, -1, 1.5, '8192', null]) expect(() => priced({ input: 1, output: 2, max_input_tokens: bad }), String(bad)).toThrow(/pricing\.my-model\.max_input_tokens/);
    expect(() => priced({ input: 1, output: 2, max_input_token: 8_192 })).toThrow(/pricing\.my-model/);
    expect(() => priced({ input: 1, output: 2, context_window: 8_192 })).toThrow(/pricing\.my-model/);
  });
});

describe("pricing Anthropic's fast mode", () => {
  const priced = (price: unknown) => load({ pricing: { 'my-claude': price } });

  it('takes a fast multiple beside the rates, and keeps the built-in ones unless an override drops them', () => {
    const price = { input: 4, cached_input: 0.2, cache_write_input: 5, cache_write_1h_input: 8, output: 20, fast: 2 };
    expect(priced(price).prices['my-claude']).toEqual(price);
    expect(priced({ input: 1, output: 2, fast: 1 }).prices['my-claude'].fast).toBe(1);
    expect(load({}).prices['claude-opus-4-6'].fast).toBe(6);
    // Opus 5.5 has no published fast rate: a config gives it one.
    expect(load({}).prices['claude-opus-5-5'].fast).toBeUndefined();
    expect(load({ pricing: { 'claude-opus-5-5': { input: 4, cached_input: 0.2, output: 20, fast: 2 } } }).prices['claude-opus-5-5'].fast).toBe(2);
    // An override replaces the model's whole entry: its fast multiple too.
    expect(load({ pricing: { 'claude-opus-4-6': { input: 5, output: 25 } } }).prices['claude-opus-4-6'].fast).toBeUndefined();
  });

  it('takes a price per 1,000 web searches, and gives every built-in Claude model $10', () => {
    expect(priced({ input: 3, output: 15, web_search: 25 }).prices['my-claude'].web_search).toBe(25);
    expect(load({}).prices['claude-sonnet-4-5'].web_search).toBe(10);
    expect(load({}).prices['claude-3-haiku'].web_search).toBe(10);
    // An override replaces the model's whole entry: without it, its searches are unpriced.
    expect(load({ pricing: { 'claude-sonnet-4-5': { input: 3, output: 15 } } }).prices['claude-sonnet-4-5'].web_search).toBeUndefined();
    for (const web_search of [-1, '10', null, Number.POSITIVE_INFINITY]) {
      expect(() => priced({ input: 3, output: 15, web_search }), JSON.stringify(web_search)).toThrow(/pricing\.my-claude\.web_search/);
    }
  });

  it('refuses a fast multiple that is not a number of at least 1', () => {
    for (const fast of [0, 0.5, -2, '6', '6x', null, true, Number.POSITIVE_INFINITY, { input: 30, output: 150 }, [6]]) {
      expect(() => priced({ input: 5, output: 25, fast }), JSON.stringify(fast)).toThrow(/pricing\.my-claude\.fast/);
    }
    // Other spellings are no price field.
    for (const name of ['Fast', 'fast_mode', 'speed']) expect(() => priced({ input: 5, output: 25, [name]: 6 }), name).toThrow(/pricing\.my-claude/);
  });
});
