import { describe, expect, it } from 'vitest';
import { routeModel } from './routing.js';

describe('routeModel', () => {
  const table = {
    routes: [
      { pattern: 'llama*', provider: 'local' },
      { pattern: 'llama-3-70b*', provider: 'big' },
      { pattern: 'gpt-4o', provider: 'azure' },
    ],
    aliases: { fast: 'gpt-4o-mini', smart: 'gpt-4o' },
    defaultProvider: 'openai',
  };
  it('routes exact, longest prefix, alias and default', () => {
    expect(routeModel(table, 'gpt-4o')).toEqual({ model: 'gpt-4o', provider: 'azure' });
    expect(routeModel(table, 'llama-3-8b')).toEqual({ model: 'llama-3-8b', provider: 'local' });
    expect(routeModel(table, 'llama-3-70b-instruct')).toEqual({ model: 'llama-3-70b-instruct', provider: 'big' });
    expect(routeModel(table, 'smart')).toEqual({ model: 'gpt-4o', provider: 'azure' });
    expect(routeModel(table, 'fast')).toEqual({ model: 'gpt-4o-mini', provider: 'openai' });
    expect(routeModel({ ...table, defaultProvider: null }, 'x')).toEqual({ model: 'x', provider: null });
  });
});

describe('routeModel with fallbacks', () => {
  const fallbacks = [{ provider: 'alt', model: null }];
  const table = {
    routes: [
      { pattern: 'gpt-*', provider: 'up', fallbacks, maxAttempts: 3 },
      { pattern: 'gpt-4o', provider: 'up', fallbacks, maxAttempts: 1 },
      { pattern: 'o3', provider: 'up', fallbacks: [], maxAttempts: 3 },
    ],
    aliases: {},
    defaultProvider: 'openai',
  };
  it('gives the matched route’s fallbacks, and none when there are none or only one attempt is allowed', () => {
    expect(routeModel(table, 'gpt-4.1')).toEqual({ model: 'gpt-4.1', provider: 'up', route: { fallbacks, maxAttempts: 3 } });
    expect(routeModel(table, 'gpt-4o')).toEqual({ model: 'gpt-4o', provider: 'up' });
    expect(routeModel(table, 'o3')).toEqual({ model: 'o3', provider: 'up' });
    expect(routeModel(table, 'x')).toEqual({ model: 'x', provider: 'openai' });
  });
});
