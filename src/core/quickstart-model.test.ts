import { describe, expect, it } from 'vitest';
import { quickstartModel } from './quickstart-model.js';

describe('quickstartModel', () => {
  it('names the echo model when no provider is configured', () => {
    expect(quickstartModel({ providers: [], defaultProvider: null })).toBe('tollgate-echo');
  });
  it('names the default provider first declared model, then any provider first', () => {
    const providers = [
      { name: 'azure', models: ['gpt-4o-prod', 'gpt-4o-mini-prod'] },
      { name: 'local', models: ['llama-3.1-8b'] },
    ];
    expect(quickstartModel({ providers, defaultProvider: 'local' })).toBe('llama-3.1-8b');
    expect(quickstartModel({ providers, defaultProvider: null })).toBe('gpt-4o-prod');
    expect(quickstartModel({ providers: [{ name: 'x', models: null }, ...providers], defaultProvider: 'x' })).toBe('gpt-4o-prod');
  });
  it('names a common model of the openai provider, and nothing for an unknown provider that declares none', () => {
    expect(quickstartModel({ providers: [{ name: 'openai', models: null }], defaultProvider: 'openai' })).toBe('gpt-4o-mini');
    expect(quickstartModel({ providers: [{ name: 'vllm', models: null }], defaultProvider: 'vllm' })).toBeNull();
  });
});
