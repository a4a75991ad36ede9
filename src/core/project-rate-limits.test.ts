import { describe, expect, it } from 'vitest';
import { modelOfRateLimitId, modelRateLimitId, rateLimitModels } from './project-rate-limits.js';

describe('rateLimitModels', () => {
  const prices = { 'gpt-4o': {}, o3: {}, 'tollgate-echo': {} };

  it('is the echo model alone when no provider is configured, whatever is priced', () => {
    expect(rateLimitModels({ providers: [], aliases: { fast: 'gpt-4o' }, prices })).toEqual(['tollgate-echo']);
  });

  it("is the providers' declared models and the aliases, sorted, when every provider declares its models", () => {
    expect(rateLimitModels({ providers: [{ models: ['o3', 'gpt-4o'] }, { models: ['o3'] }], aliases: { fast: 'o3' }, prices })).toEqual(['fast', 'gpt-4o', 'o3']);
  });

  it('adds the price table (not the echo model) when a provider takes any model', () => {
    expect(rateLimitModels({ providers: [{ models: ['my-model'] }, { models: null }], aliases: {}, prices })).toEqual(['gpt-4o', 'my-model', 'o3']);
  });
});

describe('rate limit ids', () => {
  it('name their model, and only an rl- id with a model names one', () => {
    expect(modelRateLimitId('meta/llama-3.1')).toBe('rl-meta/llama-3.1');
    expect(modelOfRateLimitId('rl-meta/llama-3.1')).toBe('meta/llama-3.1');
    expect(modelOfRateLimitId('rl-*')).toBe('*');
    expect(modelOfRateLimitId('rl-')).toBeNull();
    expect(modelOfRateLimitId('rl_4fJ2abc')).toBeNull();
  });
});
