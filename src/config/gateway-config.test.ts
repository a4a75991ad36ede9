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
  return loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: 'sk-x' }).gateway;
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
