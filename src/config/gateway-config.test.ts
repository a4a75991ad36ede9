import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { loadGatewayConfig } from './gateway-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-gwcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (file: unknown) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(file));
  return loadGatewayConfig(loadConfig({ TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, UP_KEY: 'sk-x' }));
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
